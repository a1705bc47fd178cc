"""The trust report: participation and average score per week, trends per rule, latest stories.

Every figure is aggregated in SQL; small groups are hidden before anything leaves this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from trustbot.core.periods import recent_periods
from trustbot.core.privacy import enough_answers
from trustbot.core.rounds import rule_of
from trustbot.core.rules import Rule
from trustbot.core.services import Services
from trustbot.db.models import (
    Anecdote,
    Delivery,
    DeliveryStatus,
    PulseAnswer,
    Reaction,
    Round,
    RuleRow,
    Visibility,
)

DEFAULT_WEEKS, MAX_WEEKS = 8, 52
STORY_LIMIT = 5
TREND_THRESHOLD = 0.2


@dataclass(frozen=True, slots=True)
class WeekFigures:
    """One period's figures; `rule` is None when no round was opened that week."""

    period: str
    rule: Rule | None
    delivered: int
    answered: int
    average: float | None  # None when hidden (fewer answers than the group size) or no answers
    hidden: bool
    stories: int
    reactions: int


@dataclass(frozen=True, slots=True)
class RuleTrend:
    """How one rule's average moved over the visible weeks, oldest first."""

    rule: Rule
    averages: tuple[float, ...]

    @property
    def direction(self) -> str:
        """ "up", "down", "flat", "single" or "none"."""
        if not self.averages:
            return "none"
        if len(self.averages) == 1:
            return "single"
        # Averages carry two decimals; rounding the change keeps 0.20 from being 0.2000000001.
        change = round(self.averages[-1] - self.averages[0], 2)
        if change > TREND_THRESHOLD:
            return "up"
        if change < -TREND_THRESHOLD:
            return "down"
        return "flat"


@dataclass(frozen=True, slots=True)
class SharedStory:
    """A story shared for reports; `author_user_id` is None when shared anonymously."""

    period: str
    rule: Rule
    text: str
    author_user_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TrustReport:
    """Everything a manager sees in /trust-report."""

    weeks: tuple[WeekFigures, ...]
    trends: tuple[RuleTrend, ...]
    stories: tuple[SharedStory, ...]
    min_group_size: int


class ReportArgumentError(ValueError):
    """The report was asked for with arguments it cannot take."""


def parse_weeks(text: str) -> int:
    """The number of weeks in `/trust-report [weeks]`; empty means the default."""
    words = text.split()
    if not words:
        return DEFAULT_WEEKS
    if len(words) > 1 or not (len(words[0]) <= 3 and words[0].isascii() and words[0].isdigit()):
        raise ReportArgumentError(text)
    weeks = int(words[0])
    if not 1 <= weeks <= MAX_WEEKS:
        raise ReportArgumentError(text)
    return weeks


async def build_trust_report(
    *,
    session: AsyncSession,
    current_period: str,
    weeks: int,
    min_group_size: int,
    rules: tuple[Rule, ...],
) -> TrustReport:
    """The report over the `weeks` periods ending with `current_period`."""
    periods = recent_periods(current_period, weeks)
    in_window = select(Round.id).where(Round.period.in_(periods)).scalar_subquery()

    delivered = (
        select(Delivery.round_id, func.count().label("n"))
        .where(Delivery.round_id.in_(in_window), Delivery.status == DeliveryStatus.SENT)
        .group_by(Delivery.round_id)
        .subquery()
    )
    answers = (
        select(
            PulseAnswer.round_id,
            func.count().label("n"),
            func.avg(PulseAnswer.score).label("average"),
        )
        .where(PulseAnswer.round_id.in_(in_window))
        .group_by(PulseAnswer.round_id)
        .subquery()
    )
    stories = (
        select(Anecdote.round_id, func.count().label("n"))
        .where(Anecdote.round_id.in_(in_window))
        .group_by(Anecdote.round_id)
        .subquery()
    )
    reactions = (
        select(Reaction.round_id, func.count().label("n"))
        .where(Reaction.round_id.in_(in_window), Reaction.present)
        .group_by(Reaction.round_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            Round.period,
            RuleRow,
            func.coalesce(delivered.c.n, 0),
            func.coalesce(answers.c.n, 0),
            answers.c.average,
            func.coalesce(stories.c.n, 0),
            func.coalesce(reactions.c.n, 0),
        )
        .join(RuleRow, Round.rule_id == RuleRow.id)
        .outerjoin(delivered, delivered.c.round_id == Round.id)
        .outerjoin(answers, answers.c.round_id == Round.id)
        .outerjoin(stories, stories.c.round_id == Round.id)
        .outerjoin(reactions, reactions.c.round_id == Round.id)
        .where(Round.period.in_(periods))
    )
    by_period: dict[str, WeekFigures] = {}
    for period, rule_row, n_delivered, n_answered, average, n_stories, n_reactions in rows:
        shown = enough_answers(n_answered, min_group_size=min_group_size)
        by_period[period] = WeekFigures(
            period=period,
            rule=rule_of(rule_row),
            delivered=n_delivered,
            answered=n_answered,
            average=round(float(average), 2) if shown and average is not None else None,
            hidden=not shown,
            stories=n_stories,
            reactions=n_reactions,
        )
    week_rows = tuple(
        by_period.get(period, WeekFigures(period, None, 0, 0, None, False, 0, 0))
        for period in periods
    )
    return TrustReport(
        weeks=week_rows,
        trends=_trends(week_rows, rules),
        stories=await _latest_stories(session=session, periods=periods),
        min_group_size=min_group_size,
    )


async def current_trust_report(services: Services, weeks: int) -> TrustReport:
    """The report over the `weeks` periods up to now, with the configured group size."""
    async with services.sessions() as session:
        return await build_trust_report(
            session=session,
            current_period=services.current_period(),
            weeks=weeks,
            min_group_size=services.settings.min_group_size,
            rules=services.rules,
        )


def _trends(weeks: tuple[WeekFigures, ...], rules: tuple[Rule, ...]) -> tuple[RuleTrend, ...]:
    averages: dict[int, list[float]] = {rule.position: [] for rule in rules}
    texts: dict[int, Rule] = {rule.position: rule for rule in rules}
    for week in weeks:
        if week.rule is None:
            continue
        texts.setdefault(week.rule.position, week.rule)
        averages.setdefault(week.rule.position, [])
        if week.average is not None:
            averages[week.rule.position].append(week.average)
    return tuple(
        RuleTrend(rule=texts[position], averages=tuple(averages[position]))
        for position in sorted(averages)
    )


async def _latest_stories(*, session: AsyncSession, periods: list[str]) -> tuple[SharedStory, ...]:
    rows = await session.execute(
        select(Round.period, RuleRow, Anecdote.text, Anecdote.author_user_id, Anecdote.created_at)
        .join(Round, Anecdote.round_id == Round.id)
        .join(RuleRow, Anecdote.rule_id == RuleRow.id)
        .where(
            Round.period.in_(periods),
            Anecdote.visibility.in_([Visibility.NAMED, Visibility.ANONYMOUS]),
        )
        .order_by(Anecdote.created_at.desc(), Anecdote.id.desc())
        .limit(STORY_LIMIT)
    )
    return tuple(
        SharedStory(
            period=period,
            rule=rule_of(rule_row),
            text=text,
            author_user_id=author_user_id,
            created_at=created_at,
        )
        for period, rule_row, text, author_user_id, created_at in rows
    )
