"""A database reader without the key looks at a week's reminders for who answered after them:
they were queued for those who had not answered, and one withdrawn is gone, not kept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FixedClock
from tests.privacy.db_reader import dump as dump_tables
from tests.scenario.conftest import EMPLOYEES, Stack, running_stack
from trustbot.db.models import Delivery, DeliveryKind
from trustbot.delivery.outbox import enqueue_reminders


async def test_reminders_say_nothing_of_who_answered_after_them(
    engine: AsyncEngine, database_url: str, clock: FixedClock
) -> None:
    """Reminders are queued for those who had not answered (worked out with the key); one
    withdrawn because its person answered meanwhile is deleted, not kept as "skipped"."""
    del engine
    e1, e2, *rest = EMPLOYEES
    async with running_stack(database_url, clock) as stack:
        services = stack.services
        period = services.current_period()
        await stack.prompt()
        await stack.answer({e1: 4})
        queued = await enqueue_reminders(services, period=period, max_reminders=1)
        assert queued == (1, len(EMPLOYEES) - 1)
        await _due(stack, timedelta(hours=1))  # held back, so that e2 answers first
        await stack.answer({e2: 5})
        await _due(stack, timedelta(0))
        await stack.runtime.sender.drain(period=period)
        dms = {e: stack.emulator.messages_in(stack.emulator.dm_channel_for(e)) for e in EMPLOYEES}
        reminded = [e for e, messages in dms.items() if len(messages) > 1]
        tables = await dump_tables(stack.runtime.engine)
    reminders = [row for row in tables["deliveries"] if row["kind"] == "reminder"]
    assert sorted(reminded) == sorted(rest)
    assert len(reminders) == len(rest)
    assert {row["status"] for row in reminders} == {"sent"}
    assert not [row for row in tables["deliveries"] if row["last_error"] == "answered"]


async def _due(stack: Stack, after: timedelta) -> None:
    async with stack.services.transaction() as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.kind == DeliveryKind.REMINDER)
            .values(next_attempt_at=stack.clock.now + after)
        )
