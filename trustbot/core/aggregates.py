"""A round's figures, written once when it closes; raw answers are then free to be purged.

A closed round never changes, so reports read these rows instead of rescanning every answer of
every past week. Aggregation happens in SQL, one INSERT ... SELECT per statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Integer, and_, case, cast, delete, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from trustbot.core.figures import Counts
from trustbot.core.periods import period_start
from trustbot.core.ports import Visibility
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

WHOLE = "*"  # the team value of a round's whole-round aggregate
NO_TEAM = ""  # the team value of people in no configured team


async def finalize_closed_rounds(*, session: AsyncSession) -> list[int]:
    """Aggregate every closed round that has no aggregate yet; forget when clicks were made."""
    pending = list(
        await session.scalars(
            select(Round.id)
            .outerjoin(RoundAggregate, RoundAggregate.round_id == Round.id)
            .where(Round.closed_at.is_not(None), RoundAggregate.round_id.is_(None))
        )
    )
    for round_id in pending:
        await _aggregate(session=session, round_id=round_id)
        # Only an open round needs to order clicks; a closed one keeps no time at all.
        await session.execute(
            update(PulseAnswer).where(PulseAnswer.round_id == round_id).values(acted_us=0)
        )
    return pending


async def _aggregate(*, session: AsyncSession, round_id: int) -> None:
    prompt = and_(
        Delivery.round_id == round_id,
        Delivery.kind == DeliveryKind.PROMPT,
        Delivery.status == DeliveryStatus.SENT,
    )
    team = func.coalesce(Delivery.team, NO_TEAM)
    answered = PulseAnswer.score.is_not(None)

    def tally(score: int) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((PulseAnswer.score == score, 1), else_=0)), 0)

    reactions = (
        select(Reaction.delivery_id, func.count().label("n"))
        .where(Reaction.round_id == round_id, Reaction.present)
        .group_by(Reaction.delivery_id)
        .subquery()
    )
    per_team = (
        select(
            literal(round_id),
            team,
            func.count(),
            func.coalesce(func.sum(case((answered, 1), else_=0)), 0),
            func.coalesce(func.sum(PulseAnswer.score), 0),
            *(tally(score) for score in (1, 2, 3, 4, 5)),
            func.coalesce(func.sum(reactions.c.n), 0),
            literal(0),
            literal(0),
        )
        .select_from(Delivery)
        .outerjoin(
            PulseAnswer,
            and_(
                PulseAnswer.round_id == Delivery.round_id,
                PulseAnswer.respondent == Delivery.recipient,
            ),
        )
        .outerjoin(reactions, reactions.c.delivery_id == Delivery.id)
        .where(prompt)
        .group_by(team)
    )
    columns = [
        "round_id",
        "team",
        "delivered",
        "answered",
        "score_sum",
        "n1",
        "n2",
        "n3",
        "n4",
        "n5",
        "reactions",
        "stories_shared",
        "stories_private",
    ]
    await session.execute(insert(RoundAggregate).from_select(columns, per_team))
    shared = func.coalesce(
        func.sum(case((Anecdote.visibility != Visibility.PRIVATE, 1), else_=0)), 0
    )
    private = func.coalesce(
        func.sum(case((Anecdote.visibility == Visibility.PRIVATE, 1), else_=0)), 0
    )
    whole = select(
        literal(round_id),
        literal(WHOLE),
        *(
            cast(func.coalesce(func.sum(getattr(RoundAggregate, name)), 0), Integer)
            for name in columns[2:11]
        ),
        select(shared).where(Anecdote.round_id == round_id).scalar_subquery(),
        select(private).where(Anecdote.round_id == round_id).scalar_subquery(),
    ).where(RoundAggregate.round_id == round_id, RoundAggregate.team != WHOLE)
    await session.execute(insert(RoundAggregate).from_select(columns, whole))


async def purge_old_answers(*, session: AsyncSession, now: datetime, weeks: int) -> int:
    """Delete raw answers (and reactions) of closed rounds older than `weeks`; aggregates stay."""
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
