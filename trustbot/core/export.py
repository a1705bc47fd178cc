"""`trustbot export`: aggregates, anonymised answers and consented stories, as CSV rows.

The disclosure rules apply exactly as in reports (`core/figures.py`): a group too small is
exported as "too few to show", its neighbours are protected the same way, participation is
banded where it would tell who did not answer, stories come only from rounds whose figures
are shown, and raw answers only from rounds whose participation is exact. Answers carry no
person, no team and no time, in an order that says nothing about who answered when.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import func, select

from trustbot.core.aggregates import WHOLE, counts_of
from trustbot.core.figures import Counts, Figures, disclosure_for, round_figures
from trustbot.core.format import index_text, share_text
from trustbot.core.rounds import rule_of
from trustbot.core.services import Services
from trustbot.db.models import Anecdote, PulseAnswer, Round, RoundAggregate, RuleRow
from trustbot.kinds import Visibility

AGGREGATE_HEADER = (
    "period",
    "rule",
    "team",
    "answered",
    "answered_at_least",
    "delivered",
    "trust_index",
    "index_rounded_to",
    "favourable",
    "neutral",
    "unfavourable",
    "participation",
    "participation_at_least",
    "reactions",
    "stories",
)
TOO_FEW = "too few to show"


async def exported_aggregates(
    services: Services,
) -> tuple[list[tuple[str, ...]], set[int], set[int]]:
    """One row per closed round and team, as every report shows them; the ids of rounds whose
    whole figures are shown, and of those whose participation is exact (only their raw
    answers may be exported: the number of answer rows is the exact number who answered)."""
    disclosure = disclosure_for(services.settings.min_group_size)
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
    exact: set[int] = set()
    for round_id, (period, position, groups) in by_round.items():
        parts = {team: counts for team, counts in groups.items() if team != WHOLE}
        decided = round_figures(parts, disclosure, activity=groups.get(WHOLE, Counts()))
        if decided.whole.shown:
            shown.add(round_id)
            if decided.whole.exact:
                exact.add(round_id)
        out.append(_aggregate_row(period, position, "", decided.whole))
        for team, figures in sorted(decided.parts.items()):
            out.append(_aggregate_row(period, position, team or "-", figures))
    return out, shown, exact


def _aggregate_row(period: str, position: int, team: str, figures: Figures) -> tuple[str, ...]:
    if figures.hidden:
        return (period, str(position), team, TOO_FEW, *("",) * (len(AGGREGATE_HEADER) - 4))

    def optional(value: int | None) -> str:
        return "" if value is None else str(value)

    def share(value: float | None) -> str:
        return "" if value is None else share_text(value)

    return (
        period,
        str(position),
        team,
        optional(figures.answered) if figures.exact else "",
        optional(figures.answered),
        optional(figures.delivered),
        index_text(figures.index, figures.index_bound),
        str(figures.index_step),
        share(figures.favourable),
        share(figures.neutral),
        share(figures.unfavourable),
        share(figures.participation) if figures.exact else "",
        share(figures.participation),
        optional(figures.reactions),
        optional(figures.stories),
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
