"""The trust report: per period, per rule, per team; a trust index, alerts, stories, a chart.

Figures of closed rounds come from their aggregates (`round_aggregates`, written at close); a
round still open shows only how many answered so far. Every figure passes the anonymity
threshold in `core/figures.py` before it leaves this module; a reader who answered in a round
faces a threshold one higher there, so "the others" are never fewer than it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import mean

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from trustbot.core.aggregates import COUNT_COLUMNS, NO_TEAM, WHOLE, counts_from
from trustbot.core.figures import (
    HIDDEN,
    Counts,
    Figures,
    combine,
    open_round_figures,
    protect_parts,
    reveal,
)
from trustbot.core.periods import recent_periods
from trustbot.core.ports import Visibility
from trustbot.core.rounds import rule_of
from trustbot.core.rules import Rule
from trustbot.core.services import Services
from trustbot.db.models import (
    Anecdote,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    PulseAnswer,
    Round,
    RoundAggregate,
    RuleRow,
)

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
    open: bool
    figures: Figures  # of the whole round, or of the team asked for
    teams: tuple[tuple[str, Figures], ...] = ()
    change_previous: float | None = None  # index points against the previous shown period
    change_trailing: float | None = None  # against the mean of up to four before it


@dataclass(frozen=True, slots=True)
class RuleReport:
    """One rule over the report's weeks, and how its latest asking moved."""

    rule: Rule
    figures: Figures  # the rule's closed, shown rounds in the window, added up
    latest: Figures | None  # its most recent closed asking
    change: float | None  # latest asking's index minus the one before (over the history)


@dataclass(frozen=True, slots=True)
class Alert:
    """Something leadership should look at now, with the numbers behind it."""

    kind: str  # "index_drop" or "participation_drop"
    rule: Rule | None
    before: float  # index points, or a participation share
    after: float
    periods: tuple[str, ...]
    respondents: int  # answers behind the latest figure


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
    """Everything a report shows, every figure already past the threshold."""

    request: ReportRequest
    periods: tuple[PeriodReport, ...]  # the window, oldest first
    rules: tuple[RuleReport, ...]
    overall: Figures  # closed, shown periods of the window added up
    overall_change: float | None  # latest closed period's index minus the previous one's
    alerts: tuple[Alert, ...]
    stories: tuple[SharedStory, ...]
    min_group_size: int
    chart_periods: tuple[str, ...]
    chart: tuple[ChartSeries, ...]
    chart_overall: tuple[float | None, ...] = field(default=())

    @property
    def weeks(self) -> tuple[PeriodReport, ...]:
        """The window's periods (oldest first)."""
        return self.periods


@dataclass(slots=True)
class _Round:
    id: int
    period: str
    rule: Rule
    open: bool
    threshold: int
    whole: Counts = field(default_factory=Counts)
    parts: dict[str, Counts] = field(default_factory=dict)


async def build_trust_report(
    *,
    session: AsyncSession,
    current_period: str,
    request: ReportRequest,
    min_group_size: int,
    rules: tuple[Rule, ...],
    viewer: Callable[[int], str] | None = None,
    extra_threshold: int = 0,
) -> TrustReport:
    """The report over `request.weeks` periods ending with `current_period`.

    `viewer` gives the reader's answer handle for a round (computed with the key, since no
    stored value is the same across rounds): in a round they answered, a group needs one more
    respondent to be shown to them. `extra_threshold` raises it everywhere (a digest read by
    several people, some of whom may have answered).
    """
    span = recent_periods(current_period, max(request.weeks, CHART_WEEKS, HISTORY_WEEKS))
    window = set(span[-request.weeks :])
    rounds = await _load_rounds(session, span, min_group_size + extra_threshold, viewer=viewer)
    by_period = {round_.period: round_ for round_ in rounds}

    figures: dict[str, Figures] = {}
    team_figures: dict[str, tuple[tuple[str, Figures], ...]] = {}
    for round_ in rounds:
        whole = (
            open_round_figures(
                round_.whole.delivered, round_.whole.respondents, threshold=round_.threshold
            )
            if round_.open
            else reveal(round_.whole, threshold=round_.threshold)
        )
        parts = protect_parts(round_.parts, threshold=round_.threshold, whole_shown=whole.shown)
        if round_.open:  # an open round's teams show participation at most, and only if shown
            parts = {
                team: open_round_figures(
                    counts.delivered, counts.respondents, threshold=round_.threshold
                )
                if parts[team].shown
                else HIDDEN
                for team, counts in round_.parts.items()
            }
        named = tuple(sorted((team or NO_TEAM, value) for team, value in parts.items()))
        team_figures[round_.period] = named
        figures[round_.period] = (
            parts.get(request.team, HIDDEN) if request.team is not None else whole
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
    overall = combine((figures[p] for p in in_window), threshold=min_group_size)
    latest_two = [index[p] for p in shown_closed[-2:]]
    overall_change = _difference(latest_two[-1], latest_two[0]) if len(latest_two) == 2 else None
    rule_reports = _rule_reports(rules, rounds, figures, shown_closed, window, min_group_size)
    alerts = _alerts(rounds, figures, shown_closed)
    # Stories come from weeks whose figures are shown: closed ones, and the open one once
    # enough people have answered it.
    story_rounds = [
        round_.id
        for round_ in rounds
        if round_.period in window and figures[round_.period].shown and keep(round_.period)
    ]
    stories = await _latest_stories(session, story_rounds if request.team is None else [])
    chart_periods = tuple(span[-CHART_WEEKS:])
    chart = _chart(rules, by_period, figures, chart_periods)
    return TrustReport(
        request=request,
        periods=tuple(period_reports),
        rules=rule_reports,
        overall=overall,
        overall_change=overall_change,
        alerts=alerts,
        stories=stories,
        min_group_size=min_group_size + extra_threshold,  # what every group needed here
        chart_periods=chart_periods,
        chart=chart,
        chart_overall=tuple(
            figures[p].index if p in by_period and not by_period[p].open else None
            for p in chart_periods
        ),
    )


def _difference(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


async def _load_rounds(
    session: AsyncSession,
    span: list[str],
    threshold: int,
    *,
    viewer: Callable[[int], str] | None,
) -> list[_Round]:
    # The rounds, their rules and their aggregates in one query, read as plain values.
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
    rounds: dict[int, _Round] = {}
    for round_id, period, closed, position, text_da, text_en, team, *values in rows:
        round_ = rounds.get(round_id)
        if round_ is None:
            rule = Rule(position, text_da, text_en)
            round_ = rounds[round_id] = _Round(round_id, period, rule, closed is None, threshold)
        if team is None:  # no aggregate: the round is open
            continue
        if team == WHOLE:
            round_.whole = counts_from(values)
        else:
            round_.parts[team] = counts_from(values)
    if not rounds:
        return []
    open_ids = [round_id for round_id, round_ in rounds.items() if round_.open]
    if open_ids:
        await _load_open_counts(session, rounds, open_ids)
    if viewer is not None:
        answered = await session.scalars(
            select(PulseAnswer.round_id).where(
                PulseAnswer.respondent.in_([viewer(round_id) for round_id in rounds])
            )
        )
        for round_id in answered:
            rounds[round_id].threshold += 1
    return sorted(rounds.values(), key=lambda round_: round_.period)


async def _load_open_counts(
    session: AsyncSession, rounds: dict[int, _Round], open_ids: list[int]
) -> None:
    """How many got and answered an open round's prompt so far, per team (SQL aggregates).

    Deliveries and answers are counted each by themselves, by the team each row carries: no
    stored value joins an answer to its delivery.
    """
    team = func.coalesce(Delivery.team, NO_TEAM)
    delivered = await session.execute(
        select(Delivery.round_id, team, func.count())
        .where(
            Delivery.round_id.in_(open_ids),
            Delivery.kind == DeliveryKind.PROMPT,
            Delivery.status == DeliveryStatus.SENT,
        )
        .group_by(Delivery.round_id, team)
    )
    answer_team = func.coalesce(PulseAnswer.team, NO_TEAM)
    answered = await session.execute(
        select(PulseAnswer.round_id, answer_team, func.count())
        .where(PulseAnswer.round_id.in_(open_ids))
        .group_by(PulseAnswer.round_id, answer_team)
    )
    counts: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    for round_id, team_name, n in delivered:
        counts[round_id, team_name][0] = int(n)
    for round_id, team_name, n in answered:
        counts[round_id, team_name][1] = int(n)
    for (round_id, team_name), (n_delivered, n_answered) in counts.items():
        part = Counts(delivered=n_delivered, respondents=n_answered)
        round_ = rounds[round_id]
        round_.parts[team_name] = part
        round_.whole = round_.whole + part


def _rule_reports(
    rules: tuple[Rule, ...],
    rounds: list[_Round],
    figures: dict[str, Figures],
    shown_closed: list[str],
    window: set[str],
    threshold: int,
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
                figures=combine((figures[p] for p in askings if p in window), threshold=threshold),
                latest=latest,
                change=_difference(
                    latest.index if latest else None, previous.index if previous else None
                ),
            )
        )
    return tuple(reports)


def _alerts(
    rounds: list[_Round], figures: dict[str, Figures], shown_closed: list[str]
) -> tuple[Alert, ...]:
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
                    last.respondents or 0,
                )
            )
    with_participation = [p for p in shown_closed if figures[p].participation is not None]
    if len(with_participation) >= 2:
        latest = with_participation[-1]
        trailing = [figures[p].participation or 0.0 for p in with_participation[-1 - TRAILING : -1]]
        before = mean(trailing)
        after = figures[latest].participation or 0.0
        if after < PARTICIPATION_SHARE * before and before - after >= PARTICIPATION_POINTS:
            alerts.append(
                Alert(
                    "participation_drop",
                    None,
                    before,
                    after,
                    (*with_participation[-1 - TRAILING : -1], latest),
                    figures[latest].respondents or 0,
                )
            )
    return tuple(alerts)


def _chart(
    rules: tuple[Rule, ...],
    by_period: dict[str, _Round],
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
    """The latest stories shared for reports, from rounds whose figures are shown."""
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
        .order_by(Round.period.desc(), Anecdote.text)  # no order of telling
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


# A digest is read by several people, any of whom may have answered (see build_trust_report).
DIGEST_EXTRA_THRESHOLD = 1


async def current_trust_report(
    services: Services,
    request: ReportRequest | int = DEFAULT_WEEKS,
    *,
    viewer: str | None = None,
    extra_threshold: int = 0,
) -> TrustReport:
    """The report up to now, with the configured group size; `viewer` is the reader's
    pseudonym."""
    if isinstance(request, int):
        request = ReportRequest(weeks=request)
    handle = None
    if viewer is not None:
        person = viewer

        def handle(round_id: int) -> str:
            return services.answer_handle(person, round_id)

    async with services.sessions() as session:
        return await build_trust_report(
            session=session,
            current_period=services.current_period(),
            request=request,
            min_group_size=services.settings.min_group_size,
            rules=services.rules,
            viewer=handle,
            extra_threshold=extra_threshold,
        )
