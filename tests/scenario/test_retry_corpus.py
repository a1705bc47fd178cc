"""Exactly once under retries: 1,000 interactions, re-sent and raced, land as their de-duplicated,
time-ordered set, on SQLite (a file database, so writes queue) and on PostgreSQL alike."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FixedClock
from tests.factories import by_user, stored_answers
from tests.scenario.conftest import Stack, running_stack
from trustbot.db.models import Anecdote, Reaction

pytestmark = pytest.mark.slow  # a storm of 1,000 interactions: runs in `make test-all`

PEOPLE = [f"U0C{index:03d}" for index in range(30)]
INTERACTIONS = 1000
CONCURRENCY = 24  # requests in flight at once: copies of one interaction often overlap
EMOJI = ("heart", "tada", "fire")


@dataclass
class Corpus:
    """The requests to send, and what must be stored once they have all landed."""

    requests: list[tuple[bytes, str, dict[str, str]]] = field(default_factory=list)
    latest_score: dict[str, tuple[float, int]] = field(default_factory=dict)
    latest_reaction: dict[tuple[str, str], tuple[float, bool]] = field(default_factory=dict)
    stories: set[str] = field(default_factory=set)

    def add(self, body: bytes, content_type: str, copies: int, event: bool) -> None:
        """The request, plus Slack's re-sends (events carry X-Slack-Retry-Num) or double clicks."""
        self.requests.append((body, content_type, {}))
        for retry in range(1, copies):
            headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
            self.requests.append((body, content_type, headers if event else {}))


def _form(payload: dict[str, object]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


async def _build_corpus(stack: Stack, rng: random.Random) -> Corpus:
    corpus = Corpus()
    payloads = stack.driver.payloads
    moments = rng.sample(range(1, 10 * INTERACTIONS), INTERACTIONS)  # distinct, unordered times
    # Clicks dated by the bot's clock, from 4 minutes before the round opened (within the skew
    # the bot allows) on: Slack stamps by the same clock the bot runs on.
    base = stack.clock.now.timestamp() - 240
    story_views = []
    for index, moment in enumerate(moments):
        user = rng.choice(PEOPLE)
        message = stack.prompt_for(user)
        at = base + moment / 1000
        copies = rng.choice((1, 1, 1, 2, 3, 4))
        kind = rng.random()
        if kind < 0.6:
            score = rng.randint(1, 5)
            payload = payloads.block_actions(
                user_id=user,
                message=message,
                action_id=f"pulse_score:{score}",
                action_ts=f"{at:.6f}",
            )
            corpus.add(_form(payload), "application/x-www-form-urlencoded", copies, event=False)
            corpus.latest_score[user] = max(corpus.latest_score.get(user, (0.0, 0)), (at, score))
        elif kind < 0.93:
            emoji, added = rng.choice(EMOJI), rng.random() < 0.6
            event = payloads.reaction(
                user_id=user, message=message, reaction=emoji, removed=not added
            )
            event["event_ts"] = f"{at:.6f}"
            envelope = payloads.event_callback(event, event_id=f"Ev{index:05d}")
            corpus.add(json.dumps(envelope).encode(), "application/json", copies, event=True)
            key = (user, emoji)
            corpus.latest_reaction[key] = max(
                corpus.latest_reaction.get(key, (0.0, False)), (at, added)
            )
        else:
            story_views.append((user, index, copies))
    for user, index, copies in story_views:  # open each story modal from the person's prompt
        opened = len(stack.emulator.opened_views)
        await stack.driver.click_button(
            user_id=user, message=stack.prompt_for(user), action_id="share_story"
        )
        await stack.emulator.wait_for(lambda n=opened: len(stack.emulator.opened_views) > n)
        view = stack.emulator.opened_views[opened]
        values = {
            "story": {"text": {"type": "plain_text_input", "value": f"Story number {index}."}},
            "visibility": {
                "choice": {
                    "type": "radio_buttons",
                    "selected_option": {"value": rng.choice(("named", "anonymous", "private"))},
                }
            },
        }
        payload = payloads.view_submission(user_id=user, view=view, values=values)
        corpus.add(_form(payload), "application/x-www-form-urlencoded", copies, event=False)
        corpus.stories.add(str(view["id"]))
    rng.shuffle(corpus.requests)
    return corpus


async def test_a_thousand_interactions_with_retries_land_exactly_once(
    engine: AsyncEngine, database_url: str, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    del engine  # empties the database first
    rng = random.Random(20261129)
    async with running_stack(database_url, clock, employees=PEOPLE) as stack:
        await stack.prompt()
        corpus = await _build_corpus(stack, rng)
        slots = asyncio.Semaphore(CONCURRENCY)

        async def send(body: bytes, content_type: str, headers: dict[str, str]) -> int:
            async with slots:
                response = await stack.driver.post_signed(
                    body, content_type=content_type, headers=headers
                )
                return response.status_code

        with caplog.at_level(logging.WARNING):
            statuses = await asyncio.gather(*(send(*request) for request in corpus.requests))
            await stack.settle(timeout=60)

        assert set(statuses) == {200}
        assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        services = stack.services
        users = sorted({user for user, _ in corpus.latest_reaction} | set(corpus.latest_score))
        scores = dict(await stored_answers(services, users))
        async with services.sessions() as session:
            reactions = (
                await session.execute(
                    select(Reaction.round_id, Reaction.reactor, Reaction.emoji).where(
                        Reaction.present
                    )
                )
            ).all()
            stories = set(await session.scalars(select(Anecdote.source_id)))
        reactor = by_user(services, "reaction", users, sorted({row[0] for row in reactions}))
        present = {(reactor[handle], emoji) for _, handle, emoji in reactions}
        assert scores == {user: score for user, (_, score) in corpus.latest_score.items()}
        assert present == {
            (user, emoji) for (user, emoji), (_, added) in corpus.latest_reaction.items() if added
        }
        assert stories == corpus.stories
        for user, (_, score) in corpus.latest_score.items():  # what each saw last is what is stored
            seen = [e["text"] for e in stack.emulator.ephemerals if e["user"] == user]
            assert f"*{score} – " in seen[-1], user
