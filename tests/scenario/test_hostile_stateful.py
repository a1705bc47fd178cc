"""Hostile requests whose point is what they leave behind: replays change nothing, injected
stories are stored as written and shown escaped, a click dated ahead cannot lock later ones out,
a card refresh stores nothing. Each builds its own stack (they change the database)."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from tests.factories import stored_answers
from tests.scenario import test_teams as teams_scenario
from tests.scenario.conftest import EMPLOYEES, MANAGER, Stack
from tests.scenario.test_teams import PEOPLE, TeamsStack, _score_data
from tests.teams_cards import cards_in
from trustbot.core.catalogue import text
from trustbot.db.models import Anecdote, PulseAnswer

teams = teams_scenario.teams  # the Teams stack fixture, per test
ME = EMPLOYEES[0]
INJECTION = (
    "Robert'); DROP TABLE anecdotes;-- <!channel> <@U0BOSS> *bold* <http://evil|click> &amp;"
)


async def _answers(stack: Stack) -> list[tuple[str, int]]:
    return await stored_answers(stack.services, list(EMPLOYEES))


async def _stories(stack: Stack) -> list[str]:
    async with stack.services.sessions() as session:
        return list(await session.scalars(select(Anecdote.text)))


async def test_a_replayed_signed_click_is_stored_once_and_a_later_click_still_wins(
    stack: Stack,
) -> None:
    await stack.prompt()
    payload = stack.driver.payloads.block_actions(
        user_id=ME, message=stack.prompt_for(ME), action_id="pulse_score:2"
    )
    body = urlencode({"payload": json.dumps(payload)}).encode()
    signed_at = int(time.time())  # Slack's signatures go by the real clock
    signature = stack.driver._verifier.generate_signature(timestamp=str(signed_at), body=body)

    for _ in range(3):  # the same bytes, timestamp and signature, within Slack's five minutes
        response = await stack.driver.post_signed(
            body,
            content_type="application/x-www-form-urlencoded",
            timestamp=signed_at,
            signature=signature,
        )
        assert response.status_code == 200
    await stack.settle()
    async with stack.services.sessions() as session:
        revisions = list(await session.scalars(select(PulseAnswer.revision)))
    assert (await _answers(stack), revisions) == ([(ME, 2)], [0])

    await stack.answer({ME: 4})
    assert await _answers(stack) == [(ME, 4)]


async def test_a_click_dated_next_year_cannot_lock_out_the_real_one(stack: Stack) -> None:
    await stack.prompt()
    ahead = f"{stack.clock.now.timestamp() + 366 * 86400:.6f}"
    await stack.driver.click_button(
        user_id=ME, message=stack.prompt_for(ME), action_id="pulse_score:1", action_ts=ahead
    )
    await stack.answer({ME: 5})

    assert await _answers(stack) == [(ME, 5)]
    told = [str(sent["text"]) for sent in stack.emulator.ephemerals]
    assert told[0] == text("error.unknown_round", "en")


@pytest.mark.parametrize(
    ("words", "stored"),
    [
        (INJECTION, INJECTION),
        (
            "Ida \u200bfixed\u200f the \u202erouter\u202c",
            "Ida \u200bfixed\u200f the \u202erouter\u202c",
        ),
        ("🔥" * 2000, "🔥" * 2000),
    ],
    ids=["sql-and-mrkdwn", "zero-width-and-rtl", "2000-emoji"],
)
async def test_a_story_is_stored_as_written(stack: Stack, words: str, stored: str) -> None:
    await stack.prompt()

    answer = await stack.share_story(ME, words, "anonymous")

    assert answer["response_action"] == "update"
    assert await _stories(stack) == [stored]


@pytest.mark.parametrize(
    ("words", "error"),
    [
        ("🔥" * 10_000, "At most 2000 characters; yours has 10000."),
        ("\u200b\u200f\u202e \u2060", "Please write your story."),
    ],
    ids=["10000-emoji", "only-invisible-characters"],
)
async def test_a_story_too_long_or_invisible_is_refused_inline(
    stack: Stack, words: str, error: str
) -> None:
    await stack.prompt()

    answer = await stack.share_story(ME, words, "anonymous")

    assert answer == {"response_action": "errors", "errors": {"story": error}}
    assert await _stories(stack) == []


async def test_an_injected_story_is_shown_escaped_in_the_report(stack: Stack) -> None:
    stack.clock.now -= timedelta(weeks=1)
    await stack.prompt()
    await stack.answer({user: 4 for user in EMPLOYEES[:4]})
    await stack.share_story(ME, INJECTION, "anonymous")
    await stack.next_week()

    await stack.driver.send_command(user_id=MANAGER, command="/trust-report", text="2")
    await stack.emulator.wait_for(lambda: len(stack.emulator.responses) == 1, timeout=30)

    shown = json.dumps(stack.emulator.responses[0]["body"], ensure_ascii=False)
    assert "Robert'); DROP TABLE anecdotes;-- &lt;!channel&gt; &lt;@U0BOSS&gt;" in shown
    assert "<!channel>" not in shown
    assert "<@U0BOSS>" not in shown
    assert "<http://evil|click>" not in shown
    assert await _stories(stack) == [INJECTION]


# ------------------------------------------------------------------ Teams


def _prompt_card(teams: TeamsStack) -> tuple[Any, dict[str, Any]]:
    prompt = teams.prompt_for(PEOPLE[0])
    [card] = cards_in(prompt.activity)
    return prompt, card


async def _invoke(teams: TeamsStack, value: dict[str, Any], **fields: Any) -> Any:
    prompt, _ = _prompt_card(teams)
    activity = teams.driver.activity(
        "invoke", PEOPLE[0], name="adaptiveCard/action", replyToId=prompt.id, **fields
    )
    activity["value"] = value
    return activity


def _click(card: dict[str, Any], score: int, trigger: str = "manual") -> dict[str, Any]:
    action = {"type": "Action.Execute", "verb": "trustbot.score", "data": _score_data(card, score)}
    return {"action": action, "trigger": trigger}


async def test_a_replayed_invoke_is_stored_once(teams: TeamsStack) -> None:
    await teams.driver.install(PEOPLE[0])
    await teams.prompt()
    _, card = _prompt_card(teams)
    activity = await _invoke(teams, _click(card, 2))

    answers = [(await teams.driver.post(activity)).json() for _ in range(3)]

    assert all(answer == answers[0] for answer in answers)
    assert "Answered, thank you" in json.dumps(answers[0])
    assert await teams.answers() == {teams.pseudonym(PEOPLE[0]): 2}


async def test_a_card_refresh_stores_nothing_and_shows_the_stored_state(
    teams: TeamsStack,
) -> None:
    await teams.driver.install(PEOPLE[0])
    await teams.prompt()
    _, card = _prompt_card(teams)
    refresh = await _invoke(teams, _click(card, 1, trigger="automatic"))
    assert "Answered, thank you" not in json.dumps((await teams.driver.post(refresh)).json())
    assert await teams.answers() == {}

    await teams.driver.post(await _invoke(teams, _click(card, 4)))
    refreshed = (await teams.driver.post(await _invoke(teams, _click(card, 1, "automatic")))).json()

    assert "Answered, thank you" in json.dumps(refreshed)
    assert await teams.answers() == {teams.pseudonym(PEOPLE[0]): 4}


async def test_a_client_clock_ahead_locks_nobody_out(teams: TeamsStack) -> None:
    """`localTimestamp` is the person's own clock: trustbot orders clicks by Teams' `timestamp`
    and never reads it, so a laptop a year ahead neither refuses nor locks a later click."""
    await teams.driver.install(PEOPLE[0])
    await teams.prompt()
    _, card = _prompt_card(teams)
    next_year = (teams.clock.now + timedelta(days=366)).isoformat()

    await teams.driver.post(await _invoke(teams, _click(card, 1), localTimestamp=next_year))
    assert await teams.answers() == {teams.pseudonym(PEOPLE[0]): 1}
    await teams.driver.post(await _invoke(teams, _click(card, 5)))

    assert await teams.answers() == {teams.pseudonym(PEOPLE[0]): 5}


async def test_a_teams_story_is_stored_as_written(teams: TeamsStack) -> None:
    await teams.driver.install(PEOPLE[0])
    await teams.prompt()
    prompt, card = _prompt_card(teams)

    answer = await teams.driver.execute(
        PEOPLE[0],
        verb="trustbot.story",
        reply_to_id=prompt.id,
        data=dict(card["actions"][0]["data"]),
        inputs={"story": INJECTION, "visibility": "anonymous"},
    )

    assert answer["value"] == text("story.saved.anonymous", "en")
    async with teams.runtime.services.sessions() as session:
        assert list(await session.scalars(select(Anecdote.text))) == [INJECTION]
