"""A round's figures, written once when it closes; raw answers are then free to be purged.

A closed round never changes, so reports read these rows instead of rescanning every answer of
every past week. Aggregation happens in SQL, one GROUP BY per table; at close the round's raw
rows are rewritten so that nothing about them orders who acted when (docs/privacy.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, case, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from trustbot.core.figures import Counts
from trustbot.core.periods import period_start
from trustbot.db.models import (
    Anecdote,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    PulseAnswer,
    Reaction,
    Round,
    RoundAggregate,
)
from trustbot.kinds import Visibility

WHOLE = "*"  # the team value of a round's whole-round aggregate
NO_TEAM = ""  # the team value of people in no configured team


async def finalize_closed_rounds(*, session: AsyncSession) -> list[int]:
    """Aggregate every closed round that has no aggregate yet, then rewrite its raw rows so
    that they carry no order and no time (see `_rewrite_round`)."""
    pending = list(
        await session.scalars(
            select(Round.id)
            .outerjoin(RoundAggregate, RoundAggregate.round_id == Round.id)
            .where(Round.closed_at.is_not(None), RoundAggregate.round_id.is_(None))
        )
    )
    for round_id in pending:
        await _aggregate(session=session, round_id=round_id)
        await _rewrite_round(session=session, round_id=round_id)
    return pending


def _tally(score: int) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((PulseAnswer.score == score, 1), else_=0)), 0)


async def _aggregate(*, session: AsyncSession, round_id: int) -> None:
    """The round's counts per team and whole, each table grouped by its own `team` column.

    No row about a person is joined to another: an answer and a reaction carry the team of
    the delivery they came from (copied when they were written), so each table is counted by
    itself, in SQL, and the few per-team rows are put together here.
    """
    team = func.coalesce(Delivery.team, NO_TEAM)
    delivered = await session.execute(
        select(team, func.count())
        .where(
            Delivery.round_id == round_id,
            Delivery.kind == DeliveryKind.PROMPT,
            Delivery.status == DeliveryStatus.SENT,
        )
        .group_by(team)
    )
    parts: dict[str, list[int]] = defaultdict(lambda: [0] * 9)
    for name, count in delivered:
        parts[name][0] = int(count)
    answer_team = func.coalesce(PulseAnswer.team, NO_TEAM)
    answered = await session.execute(
        select(
            answer_team,
            func.count(),
            func.coalesce(func.sum(PulseAnswer.score), 0),
            *(_tally(score) for score in (1, 2, 3, 4, 5)),
        )
        .where(PulseAnswer.round_id == round_id)
        .group_by(answer_team)
    )
    for name, *values in answered:
        parts[name][1:8] = [int(value) for value in values]
    reaction_team = func.coalesce(Reaction.team, NO_TEAM)
    reacted = await session.execute(
        select(reaction_team, func.count())
        .where(Reaction.round_id == round_id, Reaction.present)
        .group_by(reaction_team)
    )
    for name, count in reacted:
        parts[name][8] = int(count)
    shared, private = (
        await session.execute(
            select(
                func.coalesce(
                    func.sum(case((Anecdote.visibility != Visibility.PRIVATE, 1), else_=0)), 0
                ),
                func.coalesce(
                    func.sum(case((Anecdote.visibility == Visibility.PRIVATE, 1), else_=0)), 0
                ),
            ).where(Anecdote.round_id == round_id)
        )
    ).one()
    whole = [sum(values[i] for values in parts.values()) for i in range(9)]
    rows = [_aggregate_row(round_id, name, values, 0, 0) for name, values in sorted(parts.items())]
    rows.append(_aggregate_row(round_id, WHOLE, whole, int(shared), int(private)))
    await session.execute(insert(RoundAggregate), rows)


def _aggregate_row(
    round_id: int, team: str, values: list[int], shared: int, private: int
) -> dict[str, object]:
    names = ("delivered", "answered", "score_sum", "n1", "n2", "n3", "n4", "n5", "reactions")
    return {
        "round_id": round_id,
        "team": team,
        **dict(zip(names, values, strict=True)),
        "stories_shared": shared,
        "stories_private": private,
    }


# What a closed round's raw rows keep of the times and claims they had while it was open.
_CLEARED_AT_CLOSE: dict[Table, dict[str, object]] = {
    cast(Table, PulseAnswer.__table__): {"acted_us": 0},
    cast(Table, Reaction.__table__): {"event_us": 0},
    cast(Table, Anecdote.__table__): {"source_id": None},
    cast(Table, Delivery.__table__): {
        "next_attempt_at": None,
        "claimed_by": None,
        "claimed_until": None,
    },
}
REWRITE_BATCH = 1000
# The tables holding a round's raw rows: rewritten at close, and scrubbed after (db/scrub.py).
RAW_TABLES = tuple(table.name for table in _CLEARED_AT_CLOSE)


async def _rewrite_round(*, session: AsyncSession, round_id: int) -> None:
    """Delete the round's raw rows and insert them again, in primary key order.

    While a round is open its rows are written in the order people act: PostgreSQL keeps that
    order in each row's `xmin` (the writing transaction), in `ctid` and in the physical order
    a plain SELECT or `pg_dump` returns. Rewritten in one transaction, every row has the same
    `xmin`, and the physical order is that of the keys (keyed hashes, random ids), which say
    nothing about who acted when. The exact times kept for ordering clicks and claiming sends
    are cleared on the way (`_CLEARED_AT_CLOSE`).
    """
    for table, cleared in _CLEARED_AT_CLOSE.items():
        rows = [
            {**row._mapping, **cleared}
            for row in await session.execute(
                select(table).where(table.c.round_id == round_id).order_by(*table.primary_key)
            )
        ]
        if not rows:
            continue
        await session.execute(delete(table).where(table.c.round_id == round_id))
        for start in range(0, len(rows), REWRITE_BATCH):
            await session.execute(insert(table), rows[start : start + REWRITE_BATCH])


async def purge_old_answers(*, session: AsyncSession, now: datetime, weeks: int) -> int:
    """Delete raw answers, reactions and deliveries of closed rounds older than `weeks`;
    aggregates (and stories) stay. The number of answers deleted."""
    cutoff = now.date() - timedelta(weeks=weeks)
    old_rounds = [
        round_id
        for round_id, period in (
            await session.execute(
                select(Round.id, Round.period)
                .join(RoundAggregate, RoundAggregate.round_id == Round.id)
                .where(Round.closed_at.is_not(None), RoundAggregate.team == WHOLE)
            )
        ).all()
        if period_start(period) < cutoff
    ]
    if not old_rounds:
        return 0
    result = await session.execute(delete(PulseAnswer).where(PulseAnswer.round_id.in_(old_rounds)))
    await session.execute(delete(Reaction).where(Reaction.round_id.in_(old_rounds)))
    await session.execute(delete(Delivery).where(Delivery.round_id.in_(old_rounds)))
    return int(getattr(result, "rowcount", 0))


# The stored counts of an aggregate, in the order `counts_from` takes them.
COUNT_COLUMNS = (
    RoundAggregate.delivered,
    RoundAggregate.answered,
    RoundAggregate.score_sum,
    RoundAggregate.n1,
    RoundAggregate.n2,
    RoundAggregate.n3,
    RoundAggregate.n4,
    RoundAggregate.n5,
    RoundAggregate.reactions,
    RoundAggregate.stories_shared,
    RoundAggregate.stories_private,
)


def counts_from(values: Sequence[int]) -> Counts:
    """The counts `core/figures.py` decides about, from the values of COUNT_COLUMNS (a row
    read as plain values, without building an ORM object)."""
    delivered, answered, score_sum, n1, n2, n3, n4, n5, reactions, shared, private = values
    return Counts(
        delivered=delivered,
        respondents=answered,
        score_sum=score_sum,
        by_score=(n1, n2, n3, n4, n5),
        reactions=reactions,
        stories=shared + private,
    )


def counts_of(row: RoundAggregate) -> Counts:
    """A stored aggregate as the counts `core/figures.py` decides about."""
    return counts_from([getattr(row, column.key) for column in COUNT_COLUMNS])
