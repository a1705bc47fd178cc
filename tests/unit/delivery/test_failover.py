"""Crash failover on PostgreSQL: rows claimed by a sender whose process is gone are taken over at
once (its liveness lock went with its database session), not when their claims expire; rows of
a sender that is alive, however slow, are left to it; a sender that stops gives its rows back."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FixedClock, make_settings, process_services
from tests.unit.delivery.conftest import (
    FAST,
    Running,
    ScriptedPlatform,
    pacer_on,
    people,
    queue,
    rows,
    wait_until,
)
from trustbot.core.services import Services
from trustbot.db.models import Delivery, DeliveryStatus
from trustbot.db.session import create_engine
from trustbot.delivery.sender import CLAIM_TTL, LIVENESS_NAMESPACE, Liveness, OutboxSender

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


async def claimed_by(services: Services, owner: str) -> int:
    return sum(
        1
        for row in (await rows(services)).values()
        if row.status is DeliveryStatus.SENDING and row.claimed_by == owner
    )


async def test_rows_claimed_by_a_process_that_is_gone_are_taken_over_at_once(
    services: Services, platform: ScriptedPlatform, clock: FixedClock
) -> None:
    await queue(services, people(3))
    async with services.transaction() as session:  # as a SIGKILLed sender left them
        await session.execute(
            update(Delivery).values(
                status=DeliveryStatus.SENDING,
                claimed_by="gone-host:4242:abcdef",
                claimed_until=clock.now + CLAIM_TTL,  # the clock does not move in this test
            )
        )
    sender = OutboxSender(services, {"slack": platform}, pacer=pacer_on(clock))

    running = Running(sender)
    try:
        await wait_until(
            lambda: asyncio.sleep(0, len(platform.delivered) == 3), "all three taken over"
        )
    finally:
        await running.aclose()
    assert all(count == 1 for count in platform.delivered.values())


async def test_rows_of_a_live_sender_are_left_to_it_until_its_process_dies(
    engine: AsyncEngine, database_url: str, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def dead_keeper(self: Liveness, stop: asyncio.Event) -> None:
        await stop.wait()  # a dead process does not take its lock again

    monkeypatch.setattr(Liveness, "keep", dead_keeper)
    # Two processes: each its own pool. The first hangs in the middle of its sends.
    first_engine, second_engine = create_engine(database_url), create_engine(database_url)
    first = process_services(first_engine, make_settings(database_url, **FAST), clock)
    second = process_services(second_engine, make_settings(database_url, **FAST), clock)
    hanging, quick = ScriptedPlatform(), ScriptedPlatform()
    never = asyncio.Event()

    async def hang(user_id: str) -> None:
        await never.wait()

    hanging.delay = hang
    await queue(first, people(2))
    slow = OutboxSender(first, {"slack": hanging}, pacer=pacer_on(clock))
    other = OutboxSender(second, {"slack": quick}, pacer=pacer_on(clock))
    running = Running(slow)
    try:
        await wait_until(lambda: asyncio.sleep(0, len(hanging.attempts) == 2), "two sends begun")
        assert await other._claim(10) == []  # alive: its rows are its own

        # Its process dies: the server ends its sessions, and the liveness lock with them.
        async with engine.connect() as connection:
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND database = (SELECT oid FROM pg_database "
                    "WHERE datname = current_database()) "
                    "AND classid = CAST(:namespace AS oid) AND objsubid = 2"
                ),
                {"namespace": LIVENESS_NAMESPACE},
            )
            await connection.commit()

        async def taken() -> bool:
            return len(await other._claim(10)) == 2

        await wait_until(taken, "the rows taken over")
        assert await claimed_by(first, other.owner) == 2
    finally:
        never.set()  # the hung sends return (their results, no longer theirs, are dropped)
        await running.aclose()
        await first_engine.dispose()
        await second_engine.dispose()


async def test_a_sender_that_stops_gives_back_the_rows_it_had_not_started(
    services: Services, platform: ScriptedPlatform, clock: FixedClock
) -> None:
    await queue(services, people(3))
    sender = OutboxSender(services, {"slack": platform}, pacer=pacer_on(clock))
    claimed = await sender._claim(10)
    assert len(claimed) == 3

    stop = asyncio.Event()
    stop.set()
    await sender.run(stop)  # stopping at once: nothing sent, its claims released

    assert await claimed_by(services, sender.owner) == 0
    assert {row.status for row in (await rows(services)).values()} == {DeliveryStatus.PENDING}
