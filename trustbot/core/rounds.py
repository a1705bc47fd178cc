"""Rounds: one rule prompt per period, rules rotating in order; a round closes with its period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from trustbot.core.periods import period_index
from trustbot.core.rules import Rule
from trustbot.db.models import Round, RuleRow

PULSE = "pulse"  # the one kind of round so far: a rule with a 1-5 question


def rule_for(
    period: str,
    *,
    rules: tuple[Rule, ...],
    earlier_rounds: int,
    first_rule: int = 1,
    first_week: str | None = None,
) -> Rule:
    """The rule a new round of `period` asks about.

    Rules rotate in order from `first_rule`. With `first_week` the rotation follows the calendar
    (week `first_week` asks `first_rule`, the next week the next rule, a week without a round
    skips its rule); without it, each new round asks the rule after the previous round's, so a
    quiet week skips nothing.
    """
    start = first_rule - 1
    if first_week is not None:
        return rules[(start + period_index(period) - period_index(first_week)) % len(rules)]
    return rules[(start + earlier_rounds) % len(rules)]


def rule_of(row: RuleRow) -> Rule:
    """The stored rule version as a core Rule."""
    return Rule(row.position, row.text_da, row.text_en)


async def store_rule(*, session: AsyncSession, rule: Rule, now: datetime) -> RuleRow:
    """The row of this exact rule text, created the first time it is used."""
    query = select(RuleRow).where(
        RuleRow.position == rule.position, RuleRow.text_da == rule.da, RuleRow.text_en == rule.en
    )
    existing = await session.scalar(query)
    if existing is not None:
        return existing
    row = RuleRow(position=rule.position, text_da=rule.da, text_en=rule.en, created_at=now)
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another process stored it first
        found = await session.scalar(query)
        assert found is not None
        return found
    return row


async def find_round(*, session: AsyncSession, period: str) -> Round | None:
    """The round of a period, if it was opened."""
    found: Round | None = await session.scalar(
        select(Round).where(Round.period == period, Round.kind == PULSE)
    )
    return found


async def count_rounds_before(*, session: AsyncSession, period: str) -> int:
    """How many rounds were opened for periods before `period`."""
    earlier = await session.scalar(
        select(func.count()).select_from(Round).where(Round.period < period, Round.kind == PULSE)
    )
    return int(earlier or 0)


async def get_round(*, session: AsyncSession, round_id: int) -> Round | None:
    """A round by id."""
    return await session.get(Round, round_id)


async def open_round(
    *,
    session: AsyncSession,
    rules: tuple[Rule, ...],
    period: str,
    now: datetime,
    first_rule: int = 1,
    first_week: str | None = None,
) -> tuple[Round, bool]:
    """The round of `period`, opened with the next rule in order if it is new; (round, opened).

    A round is unique per (period, kind): two processes opening it at once end with one round.
    """
    existing = await find_round(session=session, period=period)
    if existing is not None:
        return existing, False
    rule = rule_for(
        period,
        rules=rules,
        earlier_rounds=await count_rounds_before(session=session, period=period),
        first_rule=first_rule,
        first_week=first_week,
    )
    rule_row = await store_rule(session=session, rule=rule, now=now)
    round_ = Round(period=period, kind=PULSE, rule_id=rule_row.id, opened_at=now, rule=rule_row)
    try:
        async with session.begin_nested():
            session.add(round_)
    except IntegrityError:  # opened concurrently by another process
        found = await find_round(session=session, period=period)
        assert found is not None
        return found, False
    return round_, True


async def close_ended_rounds(
    *, session: AsyncSession, current_period: str, now: datetime
) -> list[int]:
    """Close every round whose period has ended; the ids of the rounds closed now."""
    closed = await session.scalars(
        update(Round)
        .where(Round.closed_at.is_(None), Round.period < current_period)
        .values(closed_at=now)
        .returning(Round.id)
    )
    return list(closed)
