"""The outbox and its sender over a real database (both backends), with a scripted platform."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FixedClock, make_settings
from tests.factories import handle
from trustbot.app import open_services
from trustbot.core.ports import DeliveryError, Person, Prompt, SentMessage
from trustbot.core.reports import TrustReport
from trustbot.core.services import Services
from trustbot.db.models import Delivery
from trustbot.delivery.outbox import Enqueued, Recipient, enqueue_prompts
from trustbot.delivery.pacing import Pacer
from trustbot.delivery.sender import OutboxSender

# Fast enough that pacing never holds a test up; the pacer has its own tests.
FAST = {"TRUSTBOT_SEND_RATE": "1000", "TRUSTBOT_SEND_BURST": "1000"}
DEADLINE_S = 20.0  # generous: a loaded machine must not fail a test that waits on a condition

Outcome = DeliveryError | None  # what one send attempt meets: refused, or delivered


class ScriptedPlatform:
    """A Notifier whose answers a test scripts per person; it records every attempt."""

    platform = "slack"
    digest_targets: list[str] = []  # noqa: RUF012 - the Notifier protocol's attribute

    def __init__(self) -> None:
        self.attempts: list[str] = []  # user ids, in the order sends were attempted
        self.delivered: Counter[str] = Counter()
        self.script: dict[str, list[Outcome]] = {}
        self.always: dict[str, DeliveryError] = {}
        self.delay: Callable[[str], Awaitable[None]] | None = None
        self._ts = itertools.count(1)

    def refuse(self, user_id: str, *outcomes: Outcome) -> None:
        """The person's next attempts meet these outcomes in turn, then succeed."""
        self.script.setdefault(user_id, []).extend(outcomes)

    async def resolve_audience(self) -> list[Person]:
        return []

    async def resolve_teams(self) -> dict[str, str]:
        return {}

    async def send_prompt(self, user_id: str, prompt: Prompt, *, reminder: bool) -> SentMessage:
        self.attempts.append(user_id)
        if self.delay is not None:
            await self.delay(user_id)
        if user_id in self.always:
            raise self.always[user_id]
        script = self.script.get(user_id)
        if script:
            outcome = script.pop(0)
            if outcome is not None:
                raise outcome
        self.delivered[user_id] += 1
        return SentMessage(channel_id=f"D{user_id}", message_ts=f"{next(self._ts)}.000100")

    async def send_digest(self, channel_id: str, report: TrustReport) -> SentMessage:
        raise AssertionError("no digest in these tests")


ServicesFactory = Callable[..., Awaitable[Services]]


@pytest.fixture
async def delivery_services(
    engine: AsyncEngine, database_url: str, clock: FixedClock
) -> AsyncIterator[ServicesFactory]:
    """Services over the emptied test database, with the sender's settings overridden:
    `await delivery_services(**settings)`; closed at the end of the test."""
    async with AsyncExitStack() as stack:

        async def make(**overrides: Any) -> Services:
            settings = make_settings(database_url, **{**FAST, **overrides})
            return await stack.enter_async_context(
                open_services(settings, clock=clock, prepare=False, engine=engine)
            )

        yield make


@pytest.fixture
def platform() -> ScriptedPlatform:
    return ScriptedPlatform()


@pytest.fixture
async def services(delivery_services: ServicesFactory) -> Services:
    return await delivery_services()


def pacer_on(clock: FixedClock) -> Pacer:
    """A fast pacer whose time runs on with real time and also jumps when the test moves its
    clock: one message per second to the same person passes when the test moves the clock,
    without waiting a real second."""
    start = clock.now

    def seconds() -> float:
        return time.monotonic() + (clock.now - start).total_seconds()

    return Pacer(rate=1000, burst=1000, clock=seconds)


def people(count: int) -> list[str]:
    return [f"U{index:05d}" for index in range(count)]


async def queue(services: Services, users: list[str]) -> Enqueued:
    """Open this week's round and queue its prompt for `users`, due now."""
    now = services.now()
    enqueued = await enqueue_prompts(
        services,
        period=services.current_period(),
        recipients=[Recipient("slack", user, now) for user in users],
    )
    assert enqueued is not None
    return enqueued


async def rows(services: Services) -> dict[str, Delivery]:
    """The outbox rows by recipient handle."""
    async with services.sessions() as session:
        return {row.recipient: row for row in await session.scalars(select(Delivery))}


async def row_of(services: Services, user_id: str) -> Delivery:
    """The person's prompt row (its recipient is their delivery handle for its round)."""
    return next(
        row
        for row in (await rows(services)).values()
        if row.round_id is not None
        and row.seq == 0
        and row.recipient == handle(services, "delivery", user_id, row.round_id)
    )


async def wait_until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll `condition` until it holds; AssertionError after a generous deadline."""
    deadline = time.monotonic() + DEADLINE_S
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class Running:
    """A sender running in the background until the test is done with it."""

    def __init__(self, sender: OutboxSender) -> None:
        self.sender = sender
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(sender.run(self.stop))

    async def aclose(self) -> None:
        self.stop.set()
        self.sender.wake()
        await self.task
