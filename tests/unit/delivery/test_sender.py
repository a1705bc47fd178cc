"""The outbox sender against a scripted platform, on both backends, on a clock the test moves.

Each test runs the real sender (claims, pacing, recording) over the real database; only the
platform's answers are scripted, and time passes when the test moves the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import timedelta

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FixedClock
from tests.unit.delivery.conftest import (
    Running,
    ScriptedPlatform,
    ServicesFactory,
    pacer_on,
    people,
    queue,
    row_of,
    rows,
    wait_until,
)
from trustbot.core.people import set_paused
from trustbot.core.ports import DeliveryError
from trustbot.core.prompts import Actor
from trustbot.core.services import Services
from trustbot.db.models import Delivery, DeliveryStatus
from trustbot.delivery.pacing import Pacer
from trustbot.delivery.sender import BACKOFF_BASE_S, CLAIM_TTL, LIVENESS_NAMESPACE, OutboxSender

RATE_LIMITED = DeliveryError("ratelimited", retry_after=30)
BAD_GATEWAY = DeliveryError("http_502")
CONNECTION = DeliveryError("connection: ClientConnectorError")


def _sender(services: Services, platform: ScriptedPlatform, **kwargs: object) -> OutboxSender:
    return OutboxSender(services, {"slack": platform}, **kwargs)  # type: ignore[arg-type]


async def _statuses(services: Services) -> dict[DeliveryStatus, int]:
    counts: dict[DeliveryStatus, int] = {}
    for row in (await rows(services)).values():
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts


async def _settled(services: Services) -> bool:
    """Nothing is being sent, and nothing is due now."""
    now = services.now()
    return all(
        row.status is not DeliveryStatus.SENDING
        and not (row.status is DeliveryStatus.PENDING and row.next_attempt_at <= now)
        for row in (await rows(services)).values()
    )


async def test_each_queued_prompt_is_sent_once_and_recorded(
    services: Services, platform: ScriptedPlatform
) -> None:
    users = people(40)
    await queue(services, users)

    stats = await _sender(services, platform).drain()

    assert (stats.sent, stats.failed, stats.retried) == (40, 0, 0)
    assert sorted(platform.attempts) == users
    for user in users:
        row = await row_of(services, user)
        assert (row.status, row.attempts, row.claimed_by, row.last_error) == (
            DeliveryStatus.SENT,
            1,
            None,
            None,
        )
        assert row.message_key is not None
        assert row.address != user  # sealed, never the user id in the clear


async def test_a_429_slows_the_whole_sender_and_costs_the_person_nothing(
    delivery_services: ServicesFactory, clock: FixedClock, platform: ScriptedPlatform
) -> None:
    # one attempt allowed: had a 429 counted as an attempt, the person would fail
    services = await delivery_services(TRUSTBOT_DELIVERY_MAX_ATTEMPTS="1")
    users = people(10)
    await queue(services, users)
    platform.refuse(users[3], RATE_LIMITED, RATE_LIMITED)
    pacer = pacer_on(clock)
    running = Running(_sender(services, platform, pacer=pacer))
    try:
        await wait_until(lambda: _settled(services), "the first pass")

        assert pacer.rate < 1000  # everyone's pace, not just this person's
        row = await row_of(services, users[3])
        assert (row.status, row.attempts, row.last_error) == (
            DeliveryStatus.PENDING,
            0,
            "ratelimited",
        )
        assert row.next_attempt_at == clock.now + timedelta(seconds=30)  # its Retry-After
        assert platform.delivered.total() == 9  # the others went on meanwhile

        clock.now += timedelta(seconds=30)  # a second 429, then it goes through
        running.sender.wake()
        await wait_until(lambda: _settled(services), "the second pass")
        clock.now += timedelta(seconds=30)
        running.sender.wake()
        await wait_until(
            lambda: _sent(services, users[3]), "the rate-limited prompt to be delivered"
        )
    finally:
        await running.aclose()

    row = await row_of(services, users[3])
    assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.SENT, 1, None)
    assert platform.attempts.count(users[3]) == 3
    assert await _statuses(services) == {DeliveryStatus.SENT: 10}


async def _sent(services: Services, user: str) -> bool:
    return (await row_of(services, user)).status is DeliveryStatus.SENT


async def test_server_and_connection_errors_back_off_with_jitter_then_succeed(
    services: Services, platform: ScriptedPlatform, clock: FixedClock
) -> None:
    users = people(24)
    await queue(services, users)
    for index, user in enumerate(users):
        platform.refuse(user, BAD_GATEWAY if index % 2 else CONNECTION)
    platform.refuse(users[0], BAD_GATEWAY)  # users[0] is refused twice
    running = Running(_sender(services, platform, pacer=pacer_on(clock)))
    try:
        await wait_until(lambda: _settled(services), "the first pass")
        first = await rows(services)
        delays = [
            (row.next_attempt_at - clock.now).total_seconds()
            for row in first.values()
            if row.status is DeliveryStatus.PENDING
        ]
        assert len(delays) == 24
        assert all(BACKOFF_BASE_S / 2 <= delay <= BACKOFF_BASE_S for delay in delays)
        assert len(set(delays)) > 12  # jitter: the retries do not come back in step
        assert {row.attempts for row in first.values()} == {1}
        assert {row.last_error for row in first.values()} == {
            "http_502",
            "connection: ClientConnectorError",
        }

        clock.now += timedelta(seconds=BACKOFF_BASE_S)
        running.sender.wake()
        await wait_until(lambda: _settled(services), "the second pass")
        again = await row_of(services, users[0])
        assert (again.status, again.attempts) == (DeliveryStatus.PENDING, 2)
        delay = (again.next_attempt_at - clock.now).total_seconds()
        assert BACKOFF_BASE_S <= delay <= 2 * BACKOFF_BASE_S  # the backoff doubles

        clock.now += timedelta(seconds=2 * BACKOFF_BASE_S)
        running.sender.wake()
        await wait_until(lambda: _sent(services, users[0]), "the last retry")
    finally:
        await running.aclose()

    assert await _statuses(services) == {DeliveryStatus.SENT: 24}
    assert platform.delivered.total() == 24
    assert (await row_of(services, users[0])).attempts == 3
    assert (await row_of(services, users[1])).attempts == 2


@pytest.mark.parametrize("reason", ["user_not_found", "channel_not_found", "account_inactive"])
async def test_a_permanent_refusal_fails_at_once_with_its_reason(
    services: Services, platform: ScriptedPlatform, reason: str
) -> None:
    users = people(5)
    await queue(services, users)
    platform.refuse(users[2], DeliveryError(reason, permanent=True))

    stats = await _sender(services, platform).drain()

    assert (stats.sent, stats.failed, stats.retried) == (4, 1, 0)
    assert stats.last_errors == [reason]
    row = await row_of(services, users[2])
    assert (row.status, row.last_error, row.attempts, row.next_attempt_at) == (
        DeliveryStatus.FAILED,
        reason,
        1,
        None,
    )
    assert platform.attempts.count(users[2]) == 1  # not tried again


async def test_after_the_last_attempt_a_row_fails_with_the_reason(
    delivery_services: ServicesFactory, clock: FixedClock, platform: ScriptedPlatform
) -> None:
    services = await delivery_services(TRUSTBOT_DELIVERY_MAX_ATTEMPTS="3")
    users = people(3)
    await queue(services, users)
    platform.always[users[1]] = DeliveryError("http_503")
    running = Running(_sender(services, platform, pacer=pacer_on(clock)))
    try:
        for _ in range(3):
            await wait_until(lambda: _settled(services), "a pass")
            clock.now += timedelta(minutes=10)  # past any backoff
            running.sender.wake()
        await wait_until(lambda: _settled(services), "the last pass")
    finally:
        await running.aclose()

    row = await row_of(services, users[1])
    assert (row.status, row.last_error, row.attempts) == (DeliveryStatus.FAILED, "http_503", 3)
    assert platform.attempts.count(users[1]) == 3
    assert await _statuses(services) == {DeliveryStatus.SENT: 2, DeliveryStatus.FAILED: 1}


async def test_a_claim_left_by_a_dead_sender_expires_and_the_row_is_sent(
    services: Services, platform: ScriptedPlatform, clock: FixedClock, engine: AsyncEngine
) -> None:
    users = people(2)
    await queue(services, users)
    # users[1]'s row was claimed 30 s ago by a sender that died right after
    async with services.transaction() as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.id == (await row_of(services, users[1])).id)
            .values(
                status=DeliveryStatus.SENDING,
                claimed_by="gone-host:4242:abcdef",
                claimed_until=clock.now + CLAIM_TTL - timedelta(seconds=30),
            )
        )
    # On PostgreSQL a dead sender's rows are taken over at once (test_failover.py); a claimer
    # whose liveness lock is still held (a process hung, or sharing the lock's hash) is waited
    # for until its claim runs out, as on SQLite.
    async with contextlib.AsyncExitStack() as stack:
        if engine.dialect.name == "postgresql":
            holder = await stack.enter_async_context(engine.connect())
            await holder.execute(
                text("SELECT pg_advisory_lock(:namespace, hashtext(:owner))"),
                {"namespace": LIVENESS_NAMESPACE, "owner": "gone-host:4242:abcdef"},
            )
            await holder.commit()
        await _expire_and_send(services, platform, clock, users)


async def _expire_and_send(
    services: Services, platform: ScriptedPlatform, clock: FixedClock, users: list[str]
) -> None:
    running = Running(_sender(services, platform))
    try:
        await wait_until(lambda: _sent(services, users[0]), "the free row to be sent")
        held = await row_of(services, users[1])
        assert (held.status, held.claimed_by) == (DeliveryStatus.SENDING, "gone-host:4242:abcdef")
        assert users[1] not in platform.attempts  # a live claim is respected

        clock.now += timedelta(seconds=31)  # the dead sender's claim runs out
        running.sender.wake()
        await wait_until(lambda: _sent(services, users[1]), "the abandoned row to be sent")
    finally:
        await running.aclose()

    row = await row_of(services, users[1])
    assert (row.status, row.claimed_by, row.attempts) == (DeliveryStatus.SENT, None, 1)
    assert platform.attempts.count(users[1]) == 1


async def test_two_senders_at_once_never_send_the_same_row(
    services: Services, platform: ScriptedPlatform
) -> None:
    users = people(150)
    await queue(services, users)
    randomness = random.Random(6)

    async def now_and_then(user_id: str) -> None:  # replies take their time, unevenly
        await asyncio.sleep(randomness.uniform(0, 0.004))

    platform.delay = now_and_then
    first, second = _sender(services, platform), _sender(services, platform)

    one, other = await asyncio.gather(first.drain(), second.drain())

    assert platform.delivered == dict.fromkeys(users, 1)
    assert sorted(platform.attempts) == users
    assert one.sent + other.sent == 150
    assert one.sent > 0
    assert other.sent > 0  # both took part
    assert await _statuses(services) == {DeliveryStatus.SENT: 150}


async def test_a_person_who_pauses_after_queueing_gets_nothing(
    services: Services, platform: ScriptedPlatform
) -> None:
    users = people(3)
    await queue(services, users)
    await set_paused(services, actor=Actor(user_id=users[0], platform="slack"), paused=True)

    stats = await _sender(services, platform).drain()

    assert (stats.sent, stats.skipped) == (2, 1)
    assert users[0] not in platform.attempts
    row = await row_of(services, users[0])
    assert (row.status, row.last_error) == (DeliveryStatus.SKIPPED, "paused")


class GatedPacer(Pacer):
    """A pacer that lets nothing start until the test opens its gate."""

    def __init__(self) -> None:
        super().__init__(rate=1000, burst=1000)
        self.gate = asyncio.Event()
        self.waiting = 0

    async def acquire(self, channel: str | None = None) -> None:
        self.waiting += 1
        await self.gate.wait()


async def test_a_sender_held_up_past_its_claim_does_not_send_a_row_taken_over(
    services: Services, platform: ScriptedPlatform, clock: FixedClock
) -> None:
    """A sender whose rows waited longer than the claim (a long pause after the platform
    refused the app, say) checks its claim before sending: a row another sender took over
    meanwhile is left to that one."""
    users = people(1)
    await queue(services, users)
    stuck_pacer = GatedPacer()
    stuck = Running(_sender(services, platform, pacer=stuck_pacer, owner="stuck"))
    try:
        await wait_until(lambda: _waiting(stuck_pacer), "the stuck sender to claim the row")
        # meanwhile the claim ran out, and another sender took the row over
        async with services.transaction() as session:
            await session.execute(
                update(Delivery).values(claimed_by="other", claimed_until=clock.now + 2 * CLAIM_TTL)
            )
        clock.now += CLAIM_TTL + timedelta(seconds=1)

        stuck_pacer.gate.set()
    finally:
        await stuck.aclose()  # lets the held-up send finish

    assert platform.attempts == []  # the stuck sender let it be
    row = await row_of(services, users[0])
    assert (row.status, row.claimed_by) == (DeliveryStatus.SENDING, "other")


async def test_a_sender_held_up_past_its_claim_sends_a_row_nobody_took(
    services: Services, platform: ScriptedPlatform, clock: FixedClock
) -> None:
    users = people(1)
    await queue(services, users)
    stuck_pacer = GatedPacer()
    stuck = Running(_sender(services, platform, pacer=stuck_pacer, owner="stuck"))
    try:
        await wait_until(lambda: _waiting(stuck_pacer), "the sender to claim the row")
        clock.now += CLAIM_TTL + timedelta(seconds=1)
        stuck_pacer.gate.set()
        await wait_until(lambda: _sent(services, users[0]), "the row to be sent")
    finally:
        await stuck.aclose()

    assert platform.attempts == users


async def _waiting(pacer: GatedPacer) -> bool:
    return pacer.waiting > 0
