"""The prompt use cases: one answer per person per round, the later action wins, own prompt only."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from tests.factories import sent_prompt, stored_answers
from trustbot.core.anecdotes import StoryOutcome, StoryProblem, record_story
from trustbot.core.prompts import (
    Actor,
    PromptAddress,
    ScoreOutcome,
    parse_action_time,
    prompt_state,
    record_reaction,
    record_score,
)
from trustbot.core.pulse import InvalidAnswerError
from trustbot.core.rounds import open_round
from trustbot.core.services import Services
from trustbot.db.models import Anecdote, Reaction
from trustbot.kinds import Visibility

ALICE, BOB, CAROL = Actor("slack", "U0ALICE"), Actor("slack", "U0BOB"), Actor("slack", "U0CAROL")
T0 = 1_795_687_200_000_000  # microseconds: Thursday 26 November 2026, 10:00 UTC


@dataclass(frozen=True)
class Delivered:
    round_id: int
    alice: PromptAddress
    bob: PromptAddress


@pytest.fixture
async def delivered(services: Services) -> Delivered:
    """This week's round, its prompt delivered to Alice and Bob (not Carol)."""
    async with services.transaction() as session:
        round_, _ = await open_round(
            session=session, rules=services.rules, period="2026-W48", now=services.now()
        )
        for actor, channel in ((ALICE, "D0ALICE"), (BOB, "D0BOB")):
            session.add(
                sent_prompt(
                    services, round_, user_id=actor.user_id, channel=channel, ts="1764151200.000100"
                )
            )
    return Delivered(
        round_.id,
        PromptAddress("D0ALICE", "1764151200.000100"),
        PromptAddress("D0BOB", "1764151200.000100"),
    )


async def _scores(services: Services) -> dict[str, int]:
    """Stored scores by user id (each answer's handle matched with the key, as a test may)."""
    return dict(await stored_answers(services, [actor.user_id for actor in (ALICE, BOB, CAROL)]))


async def _click(
    services: Services, at: Delivered, score: int, acted_us: int, actor: Actor = ALICE
) -> tuple[ScoreOutcome, int | None, bool]:
    address = at.alice if actor is ALICE else at.bob
    result = await record_score(
        services, actor=actor, address=address, round_id=at.round_id, score=score, acted_us=acted_us
    )
    return result.outcome, result.score, result.first_answer


async def test_the_first_click_is_stored_and_a_later_one_replaces_it(
    services: Services, delivered: Delivered
) -> None:
    assert await _click(services, delivered, 2, T0) == (ScoreOutcome.APPLIED, 2, True)
    assert await _click(services, delivered, 4, T0 + 1) == (ScoreOutcome.APPLIED, 4, False)
    assert await _scores(services) == {ALICE.user_id: 4}


@pytest.mark.parametrize("late", [0, -1, -60_000_000])
async def test_an_older_or_equal_click_arriving_late_changes_nothing(
    services: Services, delivered: Delivered, late: int
) -> None:
    await _click(services, delivered, 4, T0)

    assert await _click(services, delivered, 2, T0 + late) == (ScoreOutcome.SUPERSEDED, 4, False)
    assert await _scores(services) == {ALICE.user_id: 4}


SKEW = 300_000_000  # five minutes, in microseconds


@pytest.mark.parametrize(
    ("acted_us", "stored"),
    [
        (T0 + SKEW, True),  # five minutes ahead of the server's clock: skew, believed
        (T0 + SKEW + 1, False),  # further ahead: refused
        (T0 + 365 * 86_400_000_000, False),  # next year
        (T0 - SKEW, True),  # five minutes before the round opened (the clock is T0 here)
        (T0 - SKEW - 1, False),  # earlier: no prompt existed yet
        (1, False),  # 1970
    ],
)
async def test_a_click_dated_outside_the_round_is_refused_and_stores_nothing(
    services: Services, delivered: Delivered, acted_us: int, stored: bool
) -> None:
    outcome = await _click(services, delivered, 3, acted_us)

    assert outcome == (
        (ScoreOutcome.APPLIED, 3, True) if stored else (ScoreOutcome.REFUSED, None, False)
    )
    assert await _scores(services) == ({ALICE.user_id: 3} if stored else {})


async def test_a_future_dated_click_cannot_lock_out_the_persons_later_clicks(
    services: Services, delivered: Delivered
) -> None:
    """The point of the rule: a click dated next year would win against every real one."""
    await _click(services, delivered, 1, T0 + 365 * 86_400_000_000)

    assert await _click(services, delivered, 5, T0 + 1) == (ScoreOutcome.APPLIED, 5, True)
    assert await _scores(services) == {ALICE.user_id: 5}


@pytest.mark.parametrize("event_us", [T0 + SKEW + 1, T0 - SKEW - 1])
async def test_a_reaction_dated_outside_the_round_counts_for_nothing(
    services: Services, delivered: Delivered, event_us: int
) -> None:
    await record_reaction(
        services,
        actor=ALICE,
        address=delivered.alice,
        emoji="heart",
        added=True,
        event_us=event_us,
    )

    async with services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Reaction)) == 0


async def test_a_click_counts_only_on_the_persons_own_prompt(
    services: Services, delivered: Delivered
) -> None:
    # Carol got no prompt; Bob clicks in Alice's message; Alice names another round.
    for actor, address, round_id in (
        (CAROL, delivered.alice, delivered.round_id),
        (BOB, delivered.alice, delivered.round_id),
        (ALICE, delivered.alice, delivered.round_id + 1),
        (ALICE, PromptAddress("D0ALICE", "1.000001"), delivered.round_id),
    ):
        result = await record_score(
            services, actor=actor, address=address, round_id=round_id, score=5, acted_us=T0
        )
        assert (result.outcome, result.score) == (ScoreOutcome.REFUSED, None)
    assert await _scores(services) == {}


async def test_prompt_state_reads_the_stored_answer(
    services: Services, delivered: Delivered
) -> None:
    state = await prompt_state(
        services, actor=ALICE, address=delivered.alice, round_id=delivered.round_id
    )
    assert state is not None
    assert (state.round_id, state.period, state.score) == (delivered.round_id, "2026-W48", None)
    assert state.rule.position == 1
    await _click(services, delivered, 3, T0)
    state = await prompt_state(
        services, actor=ALICE, address=delivered.alice, round_id=delivered.round_id
    )
    assert state is not None
    assert state.score == 3
    assert (
        await prompt_state(
            services, actor=BOB, address=delivered.alice, round_id=delivered.round_id
        )
        is None
    )


async def test_concurrent_clicks_end_with_the_latest_whatever_the_arrival_order(
    services: Services, delivered: Delivered
) -> None:
    """Many clicks from two people at once, in shuffled order: the latest of each is stored."""
    rng = random.Random(3)
    for attempt in range(5):
        clicks = [
            (actor, rng.randint(1, 5), T0 + attempt * 1000 + index)
            for index in range(20)
            for actor in (ALICE, BOB)
        ]
        rng.shuffle(clicks)
        await asyncio.gather(
            *(_click(services, delivered, score, acted, actor) for actor, score, acted in clicks)
        )
        latest = {
            actor.user_id: max((acted, score) for who, score, acted in clicks if who is actor)[1]
            for actor in (ALICE, BOB)
        }
        assert await _scores(services) == latest


@pytest.mark.parametrize(
    ("value", "micros"),
    [
        ("1764151200.000100", 1_764_151_200_000_100),
        ("1764151200.1234567", 1_764_151_200_123_456),
        ("1764151200", 1_764_151_200_000_000),
        (1764151200.5, 1_764_151_200_500_000),
    ],
)
def test_parse_action_time(value: str | float, micros: int) -> None:
    assert parse_action_time(value) == micros


@pytest.mark.parametrize(
    "value",
    [
        *(None, "", "abc", "-5", "0", "1e400", "NaN", True, "9" * 30),
        *("Infinity", "-Infinity", "1e999990", "1e9999999", "١٧٦٤١٥١٢٠٠", " 1764151200", 1e20),
        *("1764151200.", ".5", "1764151200.0000000001", float("nan"), float("inf")),
    ],
)
def test_parse_action_time_refuses(value: object) -> None:
    with pytest.raises(InvalidAnswerError):
        parse_action_time(value)


async def _reactions(services: Services) -> list[tuple[str, bool]]:
    async with services.sessions() as session:
        rows = await session.execute(
            select(Reaction.emoji, Reaction.present).order_by(Reaction.emoji)
        )
        return [(emoji, present) for emoji, present in rows]


async def test_reactions_follow_event_time_not_arrival(
    services: Services, delivered: Delivered
) -> None:
    async def react(emoji: str, added: bool, at: int, actor: Actor = ALICE) -> None:
        await record_reaction(
            services, actor=actor, address=delivered.alice, emoji=emoji, added=added, event_us=at
        )

    await react("heart", True, T0)
    await react("heart", False, T0 + 10)
    await react("heart", True, T0)  # Slack re-sends the first event after the removal
    assert await _reactions(services) == [("heart", False)]
    await react("heart", True, T0 + 20)
    await react("tada", False, T0 + 5)  # a removal arriving before its addition
    await react("tada", True, T0 + 1)
    assert await _reactions(services) == [("heart", True), ("tada", False)]
    await react("fire", True, T0, actor=BOB)  # not Bob's prompt
    assert await _reactions(services) == [("heart", True), ("tada", False)]


async def test_a_story_needs_the_authors_prompt_and_is_stored_once(
    services: Services, delivered: Delivered
) -> None:
    async def tell(actor: Actor, visibility: Visibility, source: str) -> StoryOutcome:
        return await record_story(
            services,
            actor=actor,
            round_id=delivered.round_id,
            visibility=visibility,
            text="  Anna fixed it in an hour.  ",
            source_id=source,
        )

    assert await tell(ALICE, Visibility.NAMED, "V1") is StoryOutcome.SAVED
    assert await tell(ALICE, Visibility.ANONYMOUS, "V2") is StoryOutcome.SAVED
    assert await tell(BOB, Visibility.PRIVATE, "V3") is StoryOutcome.SAVED
    assert await tell(ALICE, Visibility.NAMED, "V1") is StoryOutcome.DUPLICATE
    assert await tell(CAROL, Visibility.NAMED, "V4") is StoryOutcome.NO_PROMPT
    with pytest.raises(StoryProblem):
        await record_story(
            services,
            actor=ALICE,
            round_id=delivered.round_id,
            visibility=Visibility.NAMED,
            text="   ",
            source_id="V5",
        )
    async with services.sessions() as session:
        rows = (await session.scalars(select(Anecdote).order_by(Anecdote.source_id))).all()
    assert [(row.source_id, row.visibility, row.author_user_id) for row in rows] == [
        ("V1", Visibility.NAMED, "U0ALICE"),
        ("V2", Visibility.ANONYMOUS, None),
        ("V3", Visibility.PRIVATE, None),
    ]
    assert {row.text for row in rows} == {"Anna fixed it in an hour."}
