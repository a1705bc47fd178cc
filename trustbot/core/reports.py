"""The trust report: per period, per rule, per team; a trust index, alerts, stories, a chart.

Figures of closed rounds come from their aggregates (`round_aggregates`, written at close); a
round still open shows that it is open and nothing else: no count, no score, no story, so that
polling cannot time anyone's answer or story. Every figure passes the disclosure rules of
`core/figures.py` before it leaves this module, and those rules are the same for every reader:
nothing here depends on who asks, or on any stored row about them (`decide_report` is a pure
function of the rounds' aggregates, so retention, `forget`, a new key or another platform
cannot change what a reader sees of a closed week).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from statistics import mean

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from trustbot.core.aggregates import COUNT_COLUMNS, NO_TEAM, WHOLE, counts_from
from trustbot.core.figures import (
    HIDDEN,
    Counts,
    Disclosure,
    Figures,
    combine,
    disclosure_for,
    round_figures,
)
from trustbot.core.periods import recent_periods
from trustbot.core.rounds import rule_of
from trustbot.core.rules import Rule
from trustbot.core.services import Services
from trustbot.db.models import Anecdote, Round, RoundAggregate, RuleRow
from trustbot.kinds import Visibility

DEFAULT_WEEKS, MAX_WEEKS = 8, 52
CHART_WEEKS = 12
HISTORY_WEEKS = 16  # enough to see a rule's last three askings (one rule a week, five rules)
STORY_LIMIT = 5
ALERT_DROP_POINTS = 10.0  # an index this much lower ...
ALERT_ASKINGS = 3  # ... over a rule's last three askings, each with enough answers
PARTICIPATION_SHARE = 0.6  # participation below 60 % of its trailing average ...
PARTICIPATION_POINTS = 0.15  # ... and at least 15 points lower
TRAILING = 4
_ARGUMENT = re.compile(r"^(?:(\d{1,3})|rule=(\d{1,3})|team=(.{1,64}))$", re.IGNORECASE)


class ReportArgumentError(ValueError):
    """The report was asked for with arguments it cannot take."""


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """What a reader asked for: `[weeks] [rule=N] [team=NAME]`."""

    weeks: int = DEFAULT_WEEKS
    rule: int | None = None
    team: str | None = None


def parse_report_arguments(
    text: str, *, teams: tuple[str, ...] = (), rules: int = 5
) -> ReportRequest:
    """`12 rule=3 team=Sales`, in any order, each at most once."""
    weeks: int | None = None
    rule: int | None = None
    team: str | None = None
    for word in _split_arguments(text):
        match = _ARGUMENT.match(word)
        if match is None:
            raise ReportArgumentError(text)
        if match.group(1) is not None and weeks is None:
            weeks = int(match.group(1))
            if not 1 <= weeks <= MAX_WEEKS:
                raise ReportArgumentError(text)
        elif match.group(2) is not None and rule is None:
            rule = int(match.group(2))
            if not 1 <= rule <= rules:
                raise ReportArgumentError(text)
        elif match.group(3) is not None and team is None:
            team = _team_named(match.group(3).strip('"'), teams)
        else:
            raise ReportArgumentError(text)
    return ReportRequest(weeks or DEFAULT_WEEKS, rule, team)


def _split_arguments(text: str) -> list[str]:
    # team="Customer care" may hold a space
    return [part.replace('"', "") for part in re.findall(r'team="[^"]*"|\S+', text.strip())]


def _team_named(name: str, teams: tuple[str, ...]) -> str:
    for team in teams:
        if team.lower() == name.lower():
            return team
    raise ReportArgumentError(name)


@dataclass(frozen=True, slots=True)
class PeriodReport:
    """One period: its rule, whether it is still open, and what may be shown of it."""

    period: str
    rule: Rule | None  # None: no round that week
    open: bool  # an open week shows nothing but that it is open
    figures: Figures  # of the whole round, or of the team asked for
    teams: tuple[tuple[str, Figures], ...] = ()
    change_previous: float | None = None  # index points against the previous shown period
    change_trailing: float | None = None  # against the mean of up to four before it


@dataclass(frozen=True, slots=True)
class RuleReport:
    """One rule over the report's weeks, and how its latest asking moved."""

    rule: Rule
    figures: Figures  # the rule's closed, shown rounds in the window, combined
    latest: Figures | None  # its most recent closed asking
    change: float | None  # latest asking's index minus the one before (over the history)


@dataclass(frozen=True, slots=True)
class Alert:
    """Something leadership should look at now, with the displayed numbers behind it."""

    kind: str  # "index_drop" or "participation_drop"
    rule: Rule | None
    before: float  # index points, or a participation share
    after: float
    periods: tuple[str, ...]
    answered: int  # answers behind the latest figure: exact, or at least (`exact`)
    exact: bool = True
    before_exact: bool = True  # False: `before` is a lower bound (banded weeks in it)
    before_bound: str = ""  # an index alert's figures as shown: "at_least", "at_most" or ""
    after_bound: str = ""


@dataclass(frozen=True, slots=True)
class SharedStory:
    """A story shared for reports; `author_user_id` is None when shared anonymously."""

    period: str
    rule: Rule
    text: str
    author_user_id: str | None
    author_name: str | None = None


@dataclass(frozen=True, slots=True)
class ChartSeries:
    """One rule's trust index per chart period: None when not asked or hidden (`hidden`)."""

    rule: Rule
    points: tuple[float | None, ...]
    hidden: tuple[bool, ...]


@dataclass(frozen=True, slots=True)
class TrustReport:
    """Everything a report shows, every figure already past the disclosure rules."""

    request: ReportRequest
    periods: tuple[PeriodReport, ...]  # the window, oldest first
    rules: tuple[RuleReport, ...]
    overall: Figures  # closed, shown periods of the window combined
    overall_change: float | None  # latest closed period's index minus the previous one's
    alerts: tuple[Alert, ...]
    stories: tuple[SharedStory, ...]
    disclosure: Disclosure
    chart_periods: tuple[str, ...]
    chart: tuple[ChartSeries, ...]
    chart_overall: tuple[float | None, ...] = field(default=())

    @property
    def weeks(self) -> tuple[PeriodReport, ...]:
        """The window's periods (oldest first)."""
        return self.periods


@dataclass(frozen=True, slots=True)
class RoundCounts:
    """What the database holds about one round, as the report's decisions take it: the
    aggregates written at close (none while the round is open), nothing about any person."""

    id: int
    period: str
    rule: Rule
    open: bool
    parts: Mapping[str, Counts] = field(default_factory=dict)  # per team, from the aggregates
    activity: Counts = field(default_factory=Counts)  # the whole round's reactions and stories


async def build_trust_report(
    *,
    session: AsyncSession,
    current_period: str,
    request: ReportRequest,
    min_group_size: int,
    rules: tuple[Rule, ...],
) -> TrustReport:
    """The report over `request.weeks` periods ending with `current_period`: the same for
    every reader, on every surface."""
    span = report_span(current_period, request)
    rounds = await _load_rounds(session, span)
    report = decide_report(
        rounds,
        request=request,
        current_period=current_period,
        disclosure=disclosure_for(min_group_size),
        rules=rules,
    )
    stories = await _latest_stories(session, story_round_ids(report, rounds))
    return replace(report, stories=stories)


def report_span(current_period: str, request: ReportRequest) -> list[str]:
    """The periods a report reads: its window, and enough before it for charts and alerts."""
    return recent_periods(current_period, max(request.weeks, CHART_WEEKS, HISTORY_WEEKS))


def decide_report(
    rounds: Sequence[RoundCounts],
    *,
    request: ReportRequest,
    current_period: str,
    disclosure: Disclosure,
    rules: tuple[Rule, ...],
) -> TrustReport:
    """Every figure of the report (no stories yet), from the rounds' counts alone.

    A pure function: the same rounds give the same report, whoever reads it and whatever has
    happened to raw rows since the rounds closed.
    """
    span = report_span(current_period, request)
    window = set(span[-request.weeks :])
    by_period = {round_.period: round_ for round_ in rounds if round_.period in span}

    figures: dict[str, Figures] = {}
    team_figures: dict[str, tuple[tuple[str, Figures], ...]] = {}
    for round_ in by_period.values():
        if round_.open:  # nothing of an open round: not even how many answered so far
            figures[round_.period] = HIDDEN
            team_figures[round_.period] = ()
            continue
        decided = round_figures(round_.parts, disclosure, activity=round_.activity)
        team_figures[round_.period] = tuple(
            sorted((team or NO_TEAM, value) for team, value in decided.parts.items())
        )
        figures[round_.period] = (
            decided.parts.get(request.team, HIDDEN) if request.team is not None else decided.whole
        )

    def keep(period: str) -> bool:
        asked = by_period.get(period)
        return request.rule is None or (asked is not None and asked.rule.position == request.rule)

    shown_closed = [
        period
        for period in span
        if period in by_period
        and not by_period[period].open
        and figures[period].shown
        and keep(period)
    ]
    index = {period: figures[period].index for period in shown_closed}
    period_reports = []
    for period in span:
        if period not in window:
            continue
        found = by_period.get(period)
        if found is None:
            period_reports.append(PeriodReport(period, None, False, HIDDEN))
            continue
        if not keep(period):
            continue
        earlier = [p for p in shown_closed if p < period]
        current = index.get(period)
        previous = index.get(earlier[-1]) if earlier else None
        trailing = [value for p in earlier[-TRAILING:] if (value := index[p]) is not None]
        period_reports.append(
            PeriodReport(
                period=period,
                rule=found.rule,
                open=found.open,
                figures=figures[period],
                teams=team_figures[period] if request.team is None else (),
                change_previous=_difference(current, previous),
                change_trailing=_difference(current, mean(trailing) if trailing else None),
            )
        )
    in_window = [p for p in shown_closed if p in window]
    overall = combine(figures[p] for p in in_window)
    latest_two = [index[p] for p in shown_closed[-2:]]
    overall_change = _difference(latest_two[-1], latest_two[0]) if len(latest_two) == 2 else None
    rounds_in_span = sorted(by_period.values(), key=lambda round_: round_.period)
    chart_periods = tuple(span[-CHART_WEEKS:])
    return TrustReport(
        request=request,
        periods=tuple(period_reports),
        rules=_rule_reports(rules, rounds_in_span, figures, shown_closed, window),
        overall=overall,
        overall_change=overall_change,
        alerts=_alerts(rounds_in_span, figures, shown_closed),
        stories=(),
        disclosure=disclosure,
        chart_periods=chart_periods,
        chart=_chart(rules, by_period, figures, chart_periods),
        chart_overall=tuple(
            figures[p].index if p in by_period and not by_period[p].open else None
            for p in chart_periods
        ),
    )


def story_round_ids(report: TrustReport, rounds: Sequence[RoundCounts]) -> list[int]:
    """The rounds whose shared stories a report may show: closed ones in its window whose
    figures it shows. Never an open round (a story appearing while the week is open would time
    its author), never in a `team=` report (a team's story points at a handful of people)."""
    if report.request.team is not None:
        return []
    shown = {
        p.period for p in report.periods if p.rule is not None and not p.open and p.figures.shown
    }
    return [round_.id for round_ in rounds if not round_.open and round_.period in shown]


def _difference(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


async def _load_rounds(session: AsyncSession, span: list[str]) -> list[RoundCounts]:
    """The rounds of `span`, their rules and their aggregates in one query, as plain values."""
    rows = await session.execute(
        select(
            Round.id,
            Round.period,
            Round.closed_at,
            RuleRow.position,
            RuleRow.text_da,
            RuleRow.text_en,
            RoundAggregate.team,
            *COUNT_COLUMNS,
        )
        .join(RuleRow, Round.rule_id == RuleRow.id)
        .outerjoin(RoundAggregate, RoundAggregate.round_id == Round.id)
        .where(Round.period.in_(span), Round.kind == "pulse")
    )
    found: dict[int, tuple[str, Rule, bool]] = {}
    parts: dict[int, dict[str, Counts]] = defaultdict(dict)
    activity: dict[int, Counts] = {}
    for round_id, period, closed, position, text_da, text_en, team, *values in rows:
        found.setdefault(round_id, (period, Rule(position, text_da, text_en), closed is None))
        if team is None:  # no aggregate: the round is open, or not aggregated yet
            continue
        if team == WHOLE:
            activity[round_id] = counts_from(values)
        else:
            parts[round_id][team] = counts_from(values)
    return [
        RoundCounts(
            id=round_id,
            period=period,
            rule=rule,
            open=is_open,
            parts=parts.get(round_id, {}) if not is_open else {},
            activity=activity.get(round_id, Counts()),
        )
        for round_id, (period, rule, is_open) in sorted(found.items(), key=lambda kv: kv[1][0])
    ]


def _rule_reports(
    rules: tuple[Rule, ...],
    rounds: list[RoundCounts],
    figures: dict[str, Figures],
    shown_closed: list[str],
    window: set[str],
) -> tuple[RuleReport, ...]:
    texts = {rule.position: rule for rule in rules}
    by_rule: dict[int, list[str]] = defaultdict(list)
    for round_ in rounds:
        texts.setdefault(round_.rule.position, round_.rule)
        if round_.period in shown_closed:
            by_rule[round_.rule.position].append(round_.period)
    reports = []
    for position in sorted(texts):
        askings = by_rule.get(position, [])
        latest = figures[askings[-1]] if askings else None
        previous = figures[askings[-2]] if len(askings) > 1 else None
        reports.append(
            RuleReport(
                rule=texts[position],
                figures=combine(figures[p] for p in askings if p in window),
                latest=latest,
                change=_difference(
                    latest.index if latest else None, previous.index if previous else None
                ),
            )
        )
    return tuple(reports)


def _alerts(
    rounds: list[RoundCounts], figures: dict[str, Figures], shown_closed: list[str]
) -> tuple[Alert, ...]:
    """Alerts from displayed figures only, so an alert says nothing the tables do not."""
    alerts: list[Alert] = []
    rule_of_period = {round_.period: round_.rule for round_ in rounds}
    askings: dict[int, list[str]] = defaultdict(list)
    for period in shown_closed:
        askings[rule_of_period[period].position].append(period)
    for periods in askings.values():
        recent = periods[-ALERT_ASKINGS:]
        first, last = figures[recent[0]], figures[recent[-1]]
        if (
            len(recent) >= 2
            and first.index is not None
            and last.index is not None
            and first.index - last.index >= ALERT_DROP_POINTS
        ):
            alerts.append(
                Alert(
                    "index_drop",
                    rule_of_period[recent[-1]],
                    first.index,
                    last.index,
                    tuple(recent),
                    last.answered or 0,
                    exact=last.exact,
                    before_bound=first.index_bound,
                    after_bound=last.index_bound,
                )
            )
    with_participation = [p for p in shown_closed if figures[p].participation is not None]
    if len(with_participation) >= 2:
        latest = figures[with_participation[-1]]
        trailing_periods = with_participation[-1 - TRAILING : -1]
        trailing = [figures[p].participation or 0.0 for p in trailing_periods]
        before = mean(trailing)
        after = latest.participation or 0.0
        # A band's rate is a lower bound: a fall *to* it cannot be told, a fall *from* it can.
        if (
            latest.exact
            and after < PARTICIPATION_SHARE * before
            and before - after >= PARTICIPATION_POINTS
        ):
            alerts.append(
                Alert(
                    "participation_drop",
                    None,
                    before,
                    after,
                    (*trailing_periods, with_participation[-1]),
                    latest.answered or 0,
                    exact=True,
                    before_exact=all(figures[p].exact for p in trailing_periods),
                )
            )
    return tuple(alerts)


def _chart(
    rules: tuple[Rule, ...],
    by_period: dict[str, RoundCounts],
    figures: dict[str, Figures],
    periods: tuple[str, ...],
) -> tuple[ChartSeries, ...]:
    positions = sorted(
        {rule.position for rule in rules} | {r.rule.position for r in by_period.values()}
    )
    texts = {rule.position: rule for rule in rules}
    series = []
    for position in positions:
        points: list[float | None] = []
        hidden: list[bool] = []
        for period in periods:
            round_ = by_period.get(period)
            asked = round_ is not None and not round_.open and round_.rule.position == position
            points.append(figures[period].index if asked else None)
            hidden.append(asked and figures[period].hidden)
            if asked and round_ is not None:
                texts.setdefault(position, round_.rule)
        series.append(ChartSeries(texts[position], tuple(points), tuple(hidden)))
    return tuple(series)


async def _latest_stories(session: AsyncSession, round_ids: list[int]) -> tuple[SharedStory, ...]:
    """Stories shared for reports from the given (closed, shown) rounds: the latest weeks
    first, and within a week in the order of their text, which says nothing about when each
    was told."""
    if not round_ids:
        return ()
    rows = await session.execute(
        select(Round.period, RuleRow, Anecdote.text, Anecdote.author_user_id, Anecdote.author_name)
        .join(Round, Anecdote.round_id == Round.id)
        .join(RuleRow, Anecdote.rule_id == RuleRow.id)
        .where(
            Anecdote.round_id.in_(round_ids),
            Anecdote.visibility.in_([Visibility.NAMED, Visibility.ANONYMOUS]),
        )
        .order_by(Round.period.desc(), Anecdote.text)
        .limit(STORY_LIMIT)
    )
    return tuple(
        SharedStory(
            period=period,
            rule=rule_of(rule_row),
            text=text,
            author_user_id=author,
            author_name=name,
        )
        for period, rule_row, text, author, name in rows
    )


async def current_trust_report(
    services: Services, request: ReportRequest | int = DEFAULT_WEEKS
) -> TrustReport:
    """The report up to now, with the configured group size: what every surface shows."""
    if isinstance(request, int):
        request = ReportRequest(weeks=request)
    async with services.sessions() as session:
        return await build_trust_report(
            session=session,
            current_period=services.current_period(),
            request=request,
            min_group_size=services.settings.min_group_size,
            rules=services.rules,
        )
