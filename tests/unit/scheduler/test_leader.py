"""The scheduler's leader lock on PostgreSQL: whatever fails while a process leads (recording its
lease, starting the scheduler, the heartbeat, the unlock), the lock is not left behind on a
connection, and another process leads within TRUSTBOT_LEADER_RETRY."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.conftest import make_settings, process_services
from tests.unit.scheduler.conftest import wait_until
from trustbot.core.services import Services
from trustbot.db.session import create_engine
from trustbot.scheduler import leader
from trustbot.scheduler.leader import lead_with_advisory_lock, lock_is_held

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
RETRY_S = 1.0  # TRUSTBOT_LEADER_RETRY's smallest value
HEARTBEAT_S = 0.05


def database_error() -> OperationalError:
    return OperationalError("SELECT", {}, Exception("server closed the connection"))


@dataclass
class Candidate:
    """One process's leader loop, with its own connection pool."""

    engine: AsyncEngine
    services: Services
    elected: int = 0
    deposed: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    on_elected: Callable[[], Awaitable[None]] | None = None

    def start(self) -> None:
        async def elected() -> None:
            self.elected += 1
            if self.on_elected is not None:
                await self.on_elected()

        async def deposed() -> None:
            self.deposed += 1

        self.task = asyncio.create_task(
            lead_with_advisory_lock(
                self.engine,
                self.services,
                self.stop,
                on_elected=elected,
                on_deposed=deposed,
                retry_s=RETRY_S,
                heartbeat_s=HEARTBEAT_S,
            )
        )

    async def close(self) -> None:
        self.stop.set()
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)
        await self.engine.dispose()


@pytest.fixture
async def candidates(database_url: str, engine: AsyncEngine) -> AsyncIterator[Callable[[], Any]]:
    made: list[Candidate] = []

    def make() -> Candidate:
        own = create_engine(database_url)
        candidate = Candidate(own, process_services(own, make_settings(database_url)))
        made.append(candidate)
        return candidate

    yield make
    for candidate in made:
        await candidate.close()


async def test_one_of_two_leads_and_the_other_takes_over_when_it_stops(
    candidates: Callable[[], Candidate], engine: AsyncEngine
) -> None:
    one, two = candidates(), candidates()
    one.start()
    await wait_until(lambda: one.elected == 1, "the first process leading")
    two.start()
    assert await lock_is_held(engine)

    one.stop.set()
    assert one.task is not None
    await one.task

    await wait_until(lambda: two.elected == 1, "the second process leading")
    assert one.deposed == 1


@pytest.mark.parametrize("failing", ["record_lease", "on_elected", "heartbeat", "unlock"])
async def test_a_leader_that_fails_leaves_no_lock_behind(
    failing: str,
    candidates: Callable[[], Candidate],
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    one, two = candidates(), candidates()
    leases = 0
    real_record_lease = leader.record_lease

    async def record_lease(*args: Any, **kwargs: Any) -> None:
        nonlocal leases
        leases += 1
        # The first process's first lease, or its first heartbeat's, fails.
        if (failing == "record_lease" and leases == 1) or (failing == "heartbeat" and leases == 2):
            raise database_error()
        await real_record_lease(*args, **kwargs)

    async def broken() -> None:
        raise RuntimeError("the scheduler would not start")

    async def unlock(connection: AsyncConnection) -> None:
        raise database_error()

    monkeypatch.setattr(leader, "record_lease", record_lease)
    if failing == "unlock":
        monkeypatch.setattr(leader, "unlock", unlock)
    if failing == "on_elected":
        one.on_elected = broken

    one.start()
    await wait_until(lambda: one.elected == 1, "the first process leading")
    assert one.task is not None
    if failing == "unlock":
        one.stop.set()  # leaving cleanly, but its unlock fails
    if failing == "on_elected":
        with pytest.raises(RuntimeError):  # its supervisor logs it and starts the loop again
            await one.task
    await wait_until(lambda: one.deposed == 1, "the first process deposed")
    one.stop.set()  # it stands down, not to take the lock again before the other
    await asyncio.gather(one.task, return_exceptions=True)

    await wait_until_async(lambda: not_held(engine), "the lock released")
    two.start()
    await wait_until(lambda: two.elected == 1, "the second process leading")


async def test_a_loop_started_again_after_a_failure_does_not_hold_the_lock_twice(
    candidates: Callable[[], Candidate], engine: AsyncEngine
) -> None:
    one = candidates()
    elections = 0

    async def fail_first() -> None:
        nonlocal elections
        elections += 1
        if elections == 1:
            raise RuntimeError("the scheduler would not start")

    one.on_elected = fail_first
    one.start()
    assert one.task is not None
    with pytest.raises(RuntimeError):
        await one.task
    one.start()  # as its supervisor does, on the same connection pool
    await wait_until(lambda: elections == 2, "the second election")
    assert await lock_is_held(engine)

    one.stop.set()
    await one.task  # a clean stop: one unlock
    assert not await lock_is_held(engine)  # no second hold left on a pooled connection


async def not_held(engine: AsyncEngine) -> bool:
    return not await lock_is_held(engine)


async def wait_until_async(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(1000):
        if await condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")
