"""The scheduler's jobs over a real database, with a platform that only records."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FixedClock, make_settings
from trustbot.app import open_services
from trustbot.core.ports import Person, Prompt, SentMessage
from trustbot.core.reports import TrustReport
from trustbot.core.services import Services
from trustbot.delivery.sender import OutboxSender
from trustbot.scheduler.jobs import Jobs
from trustbot.scheduler.service import Scheduler


class RecordingNotifier:
    """A platform whose audience the test sets and which records what it is asked to send."""

    platform = "slack"

    def __init__(self, people: list[Person], digest_targets: list[str] | None = None) -> None:
        self.people = people
        self.digest_targets = list(digest_targets or [])
        self.prompts: list[tuple[str, Prompt, bool]] = []
        self.digests: list[str] = []

    async def resolve_audience(self) -> list[Person]:
        return list(self.people)

    async def resolve_teams(self) -> dict[str, str]:
        return {}

    async def send_prompt(self, user_id: str, prompt: Prompt, *, reminder: bool) -> SentMessage:
        self.prompts.append((user_id, prompt, reminder))
        return SentMessage(channel_id=f"D{user_id}", message_ts=f"{len(self.prompts)}.000100")

    async def send_digest(self, channel_id: str, report: TrustReport) -> SentMessage:
        self.digests.append(channel_id)
        return SentMessage(channel_id=channel_id, message_ts=f"{len(self.digests)}.000200")


@dataclass
class Rhythm:
    """One process's scheduler pieces over the test database."""

    services: Services
    notifier: RecordingNotifier
    sender: OutboxSender
    jobs: Jobs
    scheduler: Scheduler
    clock: FixedClock
    extra: dict[str, Any] = field(default_factory=dict)

    async def count(self, model: Any, *where: Any) -> int:
        async with self.services.sessions() as session:
            query = select(func.count()).select_from(model)
            if where:
                query = query.where(*where)
            return int(await session.scalar(query) or 0)


RhythmFactory = Callable[..., Awaitable[Rhythm]]


async def wait_until(predicate: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    """Poll `predicate` until it holds; AssertionError naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def rhythm(
    engine: AsyncEngine, database_url: str, clock: FixedClock
) -> AsyncIterator[RhythmFactory]:
    """Build a process's jobs and scheduler: `rhythm(people, **settings)`; each call is a fresh
    process (as after a restart) over the same database and clock. `own_engine=True` gives it
    its own connection pool, as a separate process has."""
    async with AsyncExitStack() as stack:

        async def build(
            people: list[Person],
            *,
            digest_targets: list[str] | None = None,
            own_engine: bool = False,
            **overrides: Any,
        ) -> Rhythm:
            settings = make_settings(database_url, **overrides)
            services = await stack.enter_async_context(
                open_services(
                    settings, clock=clock, prepare=False, engine=None if own_engine else engine
                )
            )
            notifier = RecordingNotifier(people, digest_targets)
            sender = OutboxSender(services, {"slack": notifier})
            jobs = Jobs(services, {"slack": notifier}, sender)
            return Rhythm(services, notifier, sender, jobs, Scheduler(services, jobs), clock)

        yield build
