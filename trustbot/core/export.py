"""`trustbot export`: aggregates, anonymised answers and consented stories, as CSV rows.

The anonymity threshold applies exactly as in reports (`core/figures.py`): a group too small is
exported as "not enough answers", its neighbours are protected the same way, and answers and
stories come only from rounds whose figures are shown. Answers carry no person, no team and no
time, in an order that says nothing about who answered when.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import func, select

from trustbot.core.aggregates import WHOLE, counts_of
from trustbot.core.figures import Counts, Figures, protect_parts, reveal
from trustbot.core.ports import Visibility
from trustbot.core.rounds import rule_of
from trustbot.core.services import Services
from trustbot.db.models import Anecdote, PulseAnswer, Round, RoundAggregate, RuleRow
from trustbot.render.format import index_text, share_text

AGGREGATE_HEADER = (
    "period",
    "rule",
    "team",
    "answered",
    "delivered",
    "trust_index",
    "favourable",
    "neutral",
    "unfavourable",
    "participation",
    "reactions",
    "stories",
)


async def exported_aggregates(services: Services) -> tuple[list[tuple[str, ...]], set[int]]:
    """One row per closed round and team; the ids of rounds whose whole figures are shown."""
    threshold = services.settings.min_group_size
    async with services.sessions() as session:
        rows = await session.execute(
            select(Round.id, Round.period, RuleRow.position, RoundAggregate)
            .join(RuleRow, RuleRow.id == Round.rule_id)
            .join(RoundAggregate, RoundAggregate.round_id == Round.id)
            .order_by(Round.period, RoundAggregate.team)
        )
        by_round: dict[int, tuple[str, int, dict[str, Counts]]] = {}
        for round_id, period, position, aggregate in rows:
            entry = by_round.setdefault(round_id, (period, position, {}))
            entry[2][aggregate.team] = counts_of(aggregate)
    out: list[tuple[str, ...]] = []
    shown: set[int] = set()
    for round_id, (period, position, groups) in by_round.items():
        whole = reveal(groups.get(WHOLE, Counts()), threshold=threshold)
        if whole.shown:
            shown.add(round_id)
        parts = {team: counts for team, counts in groups.items() if team != WHOLE}
        protected = protect_parts(parts, threshold=threshold, whole_shown=whole.shown)
        out.append(_aggregate_row(period, position, "", whole))
        for team, figures in sorted(protected.items()):
            out.append(_aggregate_row(period, position, team or "-", figures))
    return out, shown


def _aggregate_row(period: str, position: int, team: str, figures: Figures) -> tuple[str, ...]:
    if figures.hidden:
        return (period, str(position), team, "not enough answers", "", "", "", "", "", "", "", "")
    return (
        period,
        str(position),
        team,
        str(figures.respondents),
        str(figures.delivered),
        index_text(figures.index),
        share_text(figures.favourable),
        share_text(figures.neutral),
        share_text(figures.unfavourable),
        share_text(figures.participation),
        str(figures.reactions),
        str(figures.stories),
    )


async def exported_answers(services: Services, shown: set[int]) -> Iterator[tuple[str, str, str]]:
    """(period, rule, score) of every answer in a shown round, sorted: no person, no order.

    Only rounds that still hold every answer their aggregate counts: once `trustbot forget` has
    taken one person's answers out, the aggregate (which keeps counting them) minus the answers
    left would be that person's score, so such a round's answers are not exported at all.
    """
    if not shown:
        return iter(())
    kept = (
        select(func.count())
        .where(PulseAnswer.round_id == RoundAggregate.round_id)
        .scalar_subquery()
    )
    complete = select(RoundAggregate.round_id).where(
        RoundAggregate.round_id.in_(shown),
        RoundAggregate.team == WHOLE,
        RoundAggregate.answered == kept,
    )
    async with services.sessions() as session:
        rows = await session.execute(
            select(Round.period, RuleRow.position, PulseAnswer.score)
            .join(Round, Round.id == PulseAnswer.round_id)
            .join(RuleRow, RuleRow.id == Round.rule_id)
            .where(PulseAnswer.round_id.in_(complete))
            .order_by(Round.period, PulseAnswer.score)
        )
        return iter([(period, str(position), str(score)) for period, position, score in rows])


async def exported_stories(services: Services, shown: set[int]) -> list[tuple[str, ...]]:
    """Stories their authors shared for reports, from shown rounds; a name only if chosen."""
    if not shown:
        return []
    async with services.sessions() as session:
        rows = await session.execute(
            select(
                Round.period, RuleRow, Anecdote.visibility, Anecdote.author_user_id, Anecdote.text
            )
            .join(Round, Round.id == Anecdote.round_id)
            .join(RuleRow, RuleRow.id == Anecdote.rule_id)
            .where(
                Anecdote.round_id.in_(shown),
                Anecdote.visibility.in_([Visibility.NAMED, Visibility.ANONYMOUS]),
            )
            .order_by(Round.period, Anecdote.text)  # no order of telling
        )
        grouped: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        for period, rule_row, visibility, author, text in rows:
            rule = rule_of(rule_row)
            grouped[period].append(
                (period, str(rule.position), Visibility(visibility).value, author or "", text)
            )
    return [row for period in sorted(grouped) for row in grouped[period]]
