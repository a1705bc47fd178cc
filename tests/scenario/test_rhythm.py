"""The weekly rhythm as `trustbot serve` keeps it, over real HTTP against the Slack emulator, with
the clock moved through a week: Monday's prompt, Wednesday's reminder to those who have not
answered, pausing and resuming, Friday's digest, the round closing at the period's end.

The runtime runs `run_rhythm` (the sender and the scheduler, as `serve` does); the test moves
the injected clock and fires each job the way the scheduler's clock does (`Scheduler.fire`),
except Monday's first prompt, which the start-up catch-up sends.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FixedClock
from tests.scenario.conftest import (
    EMPLOYEES,
    FORMER,
    MANAGER,
    OUTSIDER,
    ROBOT,
    Stack,
    running_stack,
)
from trustbot.core.catalogue import text
from trustbot.core.interactions import Reply
from trustbot.db.models import Delivery, DeliveryKind, DeliveryStatus, PulseAnswer, Round
from trustbot.slack.listeners.context import SLACK_COMMANDS

LEADERSHIP = ["C0LEADS", "C0BOARD"]
# Wording a reminder must never use: it would suggest someone watches who answered.
MONITORING = (
    "noticed",
    "haven't",
    "have not",
    "not answered",
    "missing",
    "manager",
    "track",
    "monitor",
    "you still",
    "overdue",
    "reminder from",
    "your team",
)


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)  # type: ignore[misc]


MONDAY_0900_30 = utc(2026, 11, 23, 8, 0, 30)  # 09:00:30 in Copenhagen, 2026-W48
WEDNESDAY_1300_30 = utc(2026, 11, 25, 12, 0, 30)
FRIDAY_0800_30 = utc(2026, 11, 27, 7, 0, 30)
PERIOD_END = utc(2026, 11, 29, 23, 0, 30)  # Monday 30 November 00:00:30 in Copenhagen
NEXT_MONDAY_0900_30 = utc(2026, 11, 30, 8, 0, 30)


@asynccontextmanager
async def serve(database_url: str, clock: FixedClock, **settings: str) -> AsyncIterator[Stack]:
    """The bot with leadership channels, its rhythm running from Monday 09:00:30."""
    clock.now = MONDAY_0900_30
    async with running_stack(
        database_url,
        clock,
        channels={channel: [MANAGER] for channel in LEADERSHIP},
        TRUSTBOT_LEADERSHIP_CHANNELS=",".join(LEADERSHIP),
        TRUSTBOT_LANGUAGE="en",
        **settings,
    ) as stack:
        stop = asyncio.Event()
        rhythm = asyncio.create_task(stack.runtime.run_rhythm(stop))
        try:
            await stack.emulator.wait_for(
                lambda: all(dm_count(stack, user) == 1 for user in EMPLOYEES),
                20,
                what="Monday's prompts",
            )
            await outbox_empty(stack)
            yield stack
        finally:
            stop.set()
            await rhythm


@pytest.fixture
async def serving(
    engine: AsyncEngine, database_url: str, clock: FixedClock
) -> AsyncIterator[Stack]:
    """The bot serving with the default rhythm over an emptied database."""
    del engine  # the fixture empties the database first
    async with serve(database_url, clock) as stack:
        yield stack


async def outbox_empty(stack: Stack, timeout_s: float = 20.0) -> None:
    """Wait until the sender has sent (or given up on) everything due."""
    deadline = time.monotonic() + timeout_s
    while await stack.runtime.sender.waiting():
        assert time.monotonic() < deadline, "the outbox did not drain"
        await asyncio.sleep(0.02)


async def fire(stack: Stack, job: str, moment: datetime) -> None:
    """Move the clock to `moment`, fire `job` as the scheduler's clock does, let it send."""
    stack.clock.now = moment
    await stack.runtime.scheduler.fire(job)
    await outbox_empty(stack)


def dm_count(stack: Stack, user: str) -> int:
    return len(stack.emulator.messages_in(user))


def all_text(message: Any) -> str:
    return f"{message.text} {message.blocks}".lower()


async def rows(stack: Stack, kind: DeliveryKind, status: DeliveryStatus | None = None) -> int:
    if status is None:
        return await stack.count_where(Delivery, Delivery.kind == kind)
    return await stack.count_where(Delivery, Delivery.kind == kind, Delivery.status == status)


async def test_a_week_of_rhythm_reaches_each_person_as_it_should(serving: Stack) -> None:
    stack = serving
    emulator = stack.emulator
    # Monday: serve started 30 s after 09:00, so its start-up catch-up sent one prompt each.
    for user in (MANAGER, OUTSIDER, FORMER, ROBOT):
        assert dm_count(stack, user) == 0
    answered, by_menu, by_command, *silent = EMPLOYEES

    await stack.driver.click_button(
        user_id=answered, message=stack.prompt_for(answered), action_id="pulse_score:4"
    )
    await stack.driver.choose_option(
        user_id=by_menu, message=stack.prompt_for(by_menu), action_id="prompt_menu", value="pause"
    )
    await stack.driver.send_command(user_id=by_command, command="/trust-prompts", text="pause")
    await stack.settle()
    told = [e["text"] for e in emulator.ephemerals if e["user"] == by_menu]
    paused = Reply("pause.done", "en").text(SLACK_COMMANDS)
    assert told == [paused]
    assert emulator.responses[-1]["body"]["text"] == paused

    # Wednesday: one reminder, only to those who neither answered nor paused.
    await fire(stack, "reminder", WEDNESDAY_1300_30)
    assert {user: dm_count(stack, user) for user in EMPLOYEES} == {
        answered: 1,
        by_menu: 1,
        by_command: 1,
        **{user: 2 for user in silent},
    }
    reminder = stack.prompt_for(silent[0])
    assert text("prompt.reminder", "en").lower() in all_text(reminder)
    for phrase in MONITORING:
        assert phrase not in all_text(reminder), phrase
    await fire(stack, "reminder", WEDNESDAY_1300_30)  # fired again: TRUSTBOT_MAX_REMINDERS is 1
    assert [dm_count(stack, user) for user in silent] == [2] * len(silent)
    assert await rows(stack, DeliveryKind.REMINDER, DeliveryStatus.SENT) == len(silent)
    # The two who paused were queued before anyone knew, and skipped at sending: nothing sent.
    assert await rows(stack, DeliveryKind.REMINDER, DeliveryStatus.SKIPPED) == 2
    # The reminder carries the buttons: answering from it counts.
    await stack.driver.click_button(user_id=silent[0], message=reminder, action_id="pulse_score:2")
    await stack.driver.send_command(user_id=by_command, command="/trust-prompts", text="resume")
    await stack.settle()

    # Friday: the digest, once per leadership channel, however often the job runs.
    await fire(stack, "digest", FRIDAY_0800_30)
    posted = {channel: len(emulator.messages_in(channel)) for channel in LEADERSHIP}
    assert all(count >= 1 for count in posted.values()), posted
    await fire(stack, "digest", FRIDAY_0800_30)
    await stack.runtime.scheduler.catch_up()  # as a restart an hour later would
    await outbox_empty(stack)
    assert {channel: len(emulator.messages_in(channel)) for channel in LEADERSHIP} == posted
    assert await rows(stack, DeliveryKind.DIGEST) == len(LEADERSHIP)

    # The period ends: the round closes, and a late click is refused politely, storing nothing.
    await fire(stack, "close", PERIOD_END)
    assert await stack.count_where(Round, Round.closed_at.is_not(None)) == 1
    late = silent[1]
    as_delivered = copy.deepcopy(stack.prompt_for(late))  # the click turns it into "closed"
    await stack.driver.click_button(user_id=late, message=as_delivered, action_id="pulse_score:5")
    await stack.settle()
    await stack.driver.click_button(user_id=late, message=as_delivered, action_id="share_story")
    await stack.settle()
    assert [e["text"] for e in emulator.ephemerals if e["user"] == late] == [
        text("error.round_closed", "en"),
        text("error.round_closed", "en"),
    ]
    assert emulator.opened_views == []  # no story form for a closed round
    assert "has closed" in all_text(stack.prompt_for(late))
    assert "pulse_score" not in all_text(stack.prompt_for(late))  # no buttons any more
    assert await stack.count(PulseAnswer) == 2

    # Next Monday: everyone but the one still paused gets the next rule.
    await fire(stack, "prompt", NEXT_MONDAY_0900_30)
    assert {user: dm_count(stack, user) for user in EMPLOYEES} == {
        answered: 2,
        by_menu: 1,
        by_command: 2,
        **{user: 3 for user in silent},
    }
    assert "trust comes from within" in all_text(stack.prompt_for(answered))


async def test_at_most_max_reminders_go_out_per_round(
    engine: AsyncEngine, database_url: str, clock: FixedClock
) -> None:
    del engine
    async with serve(
        database_url,
        clock,
        TRUSTBOT_MAX_REMINDERS="2",
        TRUSTBOT_REMINDER_SCHEDULE="0 13 * * WED,THU,FRI",
    ) as stack:
        for day in range(3):  # Wednesday, Thursday, Friday at 13:00:30
            await fire(stack, "reminder", WEDNESDAY_1300_30 + timedelta(days=day))

        assert [dm_count(stack, user) for user in EMPLOYEES] == [3] * len(EMPLOYEES)
        assert await rows(stack, DeliveryKind.REMINDER) == 2 * len(EMPLOYEES)


async def test_max_reminders_0_turns_reminders_off(
    engine: AsyncEngine, database_url: str, clock: FixedClock
) -> None:
    del engine
    async with serve(database_url, clock, TRUSTBOT_MAX_REMINDERS="0") as stack:
        assert "reminder" not in [spec.name for spec in stack.runtime.scheduler.specs]
        with pytest.raises(KeyError, match="no reminder job"):
            await stack.runtime.scheduler.fire("reminder")
        stack.clock.now = WEDNESDAY_1300_30
        await stack.runtime.scheduler.catch_up()  # a restart just after Wednesday 13:00
        await stack.runtime.jobs.remind(WEDNESDAY_1300_30)  # even asked directly
        await outbox_empty(stack)

        assert [dm_count(stack, user) for user in EMPLOYEES] == [1] * len(EMPLOYEES)
        assert await rows(stack, DeliveryKind.REMINDER) == 0
