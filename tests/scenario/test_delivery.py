"""Sending prompts through Slack's failures, over real HTTP: 429s, 5xx, dropped connections,
permanent refusals, and running out of attempts."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FixedClock
from tests.factories import by_user
from tests.scenario.conftest import EMPLOYEES, Stack, running_stack
from trustbot.db.models import Delivery, DeliveryStatus

POST = "chat.postMessage"


async def _rows(stack: Stack) -> dict[str, Delivery]:
    """The prompt rows by employee."""
    services = stack.services
    async with services.sessions() as session:
        stored = list(await session.scalars(select(Delivery).where(Delivery.seq == 0)))
    users = stack_employees(stack)
    who = by_user(
        services, "delivery", users, sorted({row.round_id for row in stored if row.round_id})
    )
    return {who[row.recipient]: row for row in stored if row.recipient in who}


def stack_employees(stack: Stack) -> list[str]:
    return [user for user in stack.emulator.users if user.startswith("U0EMP")]


def _messages_per_person(stack: Stack) -> dict[str, int]:
    counts = stack.emulator.dm_message_counts()
    return {user: counts.get(user, 0) for user in stack_employees(stack)}


async def test_429s_slow_the_sender_and_cost_nobody_an_attempt(
    engine: AsyncEngine, database_url: str, clock: FixedClock
) -> None:
    del engine  # empties the database first
    employees = [f"U0EMP{index:02d}" for index in range(1, 25)]
    # trustbot is set to send faster than this Slack allows: it meets 429s with Retry-After
    async with running_stack(
        database_url,
        clock,
        employees=employees,
        TRUSTBOT_SEND_RATE="50",
        TRUSTBOT_SEND_BURST="10",
        TRUSTBOT_DELIVERY_MAX_ATTEMPTS="1",
    ) as stack:
        stack.emulator.limit_rate(POST, per_second=8, burst=2)

        summary = await stack.prompt()

        assert (summary.sent, summary.failed) == (24, 0)
        assert stack.emulator.status_counts[(POST, 429)] > 0
        assert set(_messages_per_person(stack).values()) == {1}
        # one attempt allowed, yet nobody failed: a 429 is not an attempt
        assert {(row.status, row.attempts) for row in (await _rows(stack)).values()} == {
            (DeliveryStatus.SENT, 1)
        }


async def test_server_errors_and_dropped_connections_are_retried_until_delivered(
    stack: Stack,
) -> None:
    stack.emulator.server_error_next(POST, status=502)
    stack.emulator.server_error_next(POST, status=500)
    stack.emulator.drop_next(POST)

    summary = await stack.prompt()

    assert (summary.sent, summary.failed) == (len(EMPLOYEES), 0)
    assert set(_messages_per_person(stack).values()) == {1}
    calls = stack.emulator.calls_to(POST)
    assert sorted(call.status for call in calls if call.status != 200) == [0, 500, 502]
    retried = {user for user, row in (await _rows(stack)).items() if row.attempts == 2}
    refused = {call.args["channel"] for call in calls if call.status != 200}
    assert retried == refused  # each refused person got in on the second attempt


@pytest.mark.parametrize("reason", ["user_not_found", "channel_not_found", "account_inactive"])
async def test_a_permanent_refusal_fails_that_person_at_once(stack: Stack, reason: str) -> None:
    stack.emulator.fail_next(POST, reason)

    summary = await stack.prompt()

    assert (summary.sent, summary.failed, summary.last_errors) == (
        len(EMPLOYEES) - 1,
        1,
        [reason],
    )
    [refused] = [call.args["channel"] for call in stack.emulator.calls_to(POST) if not call.ok]
    row = (await _rows(stack))[refused]
    assert (row.status, row.last_error, row.attempts) == (DeliveryStatus.FAILED, reason, 1)
    # tried once: no backoff, no retry
    assert [call.args["channel"] for call in stack.emulator.calls_to(POST)].count(refused) == 1


async def test_a_person_slack_keeps_failing_for_is_failed_after_the_last_attempt(
    engine: AsyncEngine, database_url: str, clock: FixedClock
) -> None:
    del engine
    async with running_stack(database_url, clock, TRUSTBOT_DELIVERY_MAX_ATTEMPTS="2") as stack:
        stack.emulator.inject_random_failures(POST, rate_5xx=1.0)

        summary = await stack.prompt()

        assert (summary.sent, summary.failed) == (0, len(EMPLOYEES))
        rows = await _rows(stack)
        assert {(row.status, row.attempts) for row in rows.values()} == {(DeliveryStatus.FAILED, 2)}
        assert {row.last_error for row in rows.values()} <= {"http_500", "http_502", "http_503"}
        assert len(stack.emulator.calls_to(POST)) == 2 * len(EMPLOYEES)
