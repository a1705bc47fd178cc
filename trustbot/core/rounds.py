"""Rounds: one rule prompt per period, rules rotating in order."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from trustbot.core.rules import Rule
from trustbot.db.models import Round, RuleRow


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
    found: Round | None = await session.scalar(select(Round).where(Round.period == period))
    return found


async def get_round(*, session: AsyncSession, round_id: int) -> Round | None:
    """A round by id."""
    return await session.get(Round, round_id)


async def open_round(
    *, session: AsyncSession, rules: tuple[Rule, ...], period: str, now: datetime
) -> tuple[Round, bool]:
    """The round of `period`, opened with the next rule in order if it is new; (round, opened)."""
    existing = await find_round(session=session, period=period)
    if existing is not None:
        return existing, False
    earlier = await session.scalar(
        select(func.count()).select_from(Round).where(Round.period < period)
    )
    rule = rules[(earlier or 0) % len(rules)]
    rule_row = await store_rule(session=session, rule=rule, now=now)
    round_ = Round(period=period, rule_id=rule_row.id, opened_at=now, rule=rule_row)
    try:
        async with session.begin_nested():
            session.add(round_)
    except IntegrityError:  # opened concurrently by another process
        found = await find_round(session=session, period=period)
        assert found is not None
        return found, False
    return round_, True
