"""A trust report composed once, as neutral parts; Slack, Teams and the terminal render them.

Parts carry plain text. User-written text (stories) stays in `Quote.text`, so each renderer
escapes it for its own markup; everything else is ours.
"""

from __future__ import annotations

from dataclasses import dataclass

from trustbot.core.catalogue import Language, text
from trustbot.core.figures import Disclosure, Figures
from trustbot.core.format import (
    at_least_text,
    change_text,
    index_text,
    participation_text,
    share_text,
)
from trustbot.core.reports import Alert, PeriodReport, SharedStory, TrustReport


@dataclass(frozen=True, slots=True)
class Heading:
    """A title."""

    text: str


@dataclass(frozen=True, slots=True)
class Note:
    """Small print."""

    text: str


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A line or two; `strong` renders emphasised."""

    text: str
    strong: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    """Columns of figures (rendered monospaced)."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Quote:
    """A story: the author's own words and who (if they chose) told it."""

    text: str
    author_user_id: str | None
    footer: str
    author_name: str | None = None


Part = Heading | Note | Paragraph | Table | Quote
DIGEST_STORIES = 3


def compose_report(report: TrustReport, *, language: Language, timezone: str) -> list[Part]:
    """The report as a leader reads it: headline, alerts, weeks, rules, teams, stories."""
    request = report.request
    title = text("report.title", language, weeks=request.weeks)
    if request.team is not None:
        title += " · " + text("report.for_team", language, team=request.team)
    if request.rule is not None:
        title += " · " + text("report.for_rule", language, rule=request.rule)
    parts: list[Part] = [
        Heading(title),
        Note(context_text(report.disclosure, language, timezone)),
        *_headline(report, language),
        *_alerts(report.alerts, language),
        _weeks_table(report.periods, language),
    ]
    if request.rule is None:
        parts.append(_rules_table(report, language))
    teams = _teams_table(report, language)
    if teams is not None:
        parts.append(teams)
    parts += _stories(report.stories, language, limit=len(report.stories))
    return parts


def threshold_text(disclosure: Disclosure, language: Language) -> str:
    """The one sentence every surface says about when a group is shown."""
    return text(
        "privacy.threshold",
        language,
        answers=disclosure.min_answers,
        asked=disclosure.min_asked,
        others=disclosure.min_group_size,
    )


def context_text(disclosure: Disclosure, language: Language, timezone: str) -> str:
    """The small print under a report's or digest's title."""
    return text(
        "report.context", language, threshold=threshold_text(disclosure, language), tz=timezone
    )


def compose_digest(report: TrustReport, *, language: Language, timezone: str) -> list[Part]:
    """The leadership digest: the same figures, shorter, with stories of the latest closed
    week's rule (an open week's stories wait until it closes)."""
    latest = next((p for p in reversed(report.periods) if p.rule is not None), None)
    period = latest.period if latest else ""
    parts: list[Part] = [
        Heading(text("digest.title", language, period=period)),
        Note(context_text(report.disclosure, language, timezone)),
        *_headline(report, language),
        *_alerts(report.alerts, language),
        _rules_table(report, language),
        _weeks_table(report.periods[-4:], language),
    ]
    teams = _teams_table(report, language)
    if teams is not None:
        parts.append(teams)
    closed = next((p for p in reversed(report.periods) if p.rule is not None and not p.open), None)
    if closed is not None and closed.rule is not None:
        own = tuple(story for story in report.stories if story.period == closed.period)
        title = text("digest.stories", language, period=closed.period, rule=closed.rule.position)
        parts += _stories(own, language, limit=DIGEST_STORIES, title=title)
    return parts


def _headline(report: TrustReport, language: Language) -> list[Part]:
    overall = report.overall
    if overall.hidden or overall.index is None:
        return [Paragraph(text("report.headline.none", language))]
    return [
        Paragraph(
            text(
                "report.headline" if overall.favourable is not None else "report.headline.banded",
                language,
                index=index_text(overall.index),
                change=f" {change}" if (change := change_text(report.overall_change)) else "",
                favourable=share_text(overall.favourable),
                participation=participation_text(overall.participation, exact=overall.exact),
                answers=at_least_text(overall.answered, exact=overall.exact),
            ),
            strong=True,
        )
    ]


def _alerts(alerts: tuple[Alert, ...], language: Language) -> list[Part]:
    lines: list[Part] = []
    for alert in alerts:
        periods = f"{alert.periods[0]}–{alert.periods[-1]}"
        if alert.kind == "index_drop" and alert.rule is not None:
            line = text(
                "alert.index_drop",
                language,
                rule=alert.rule.position,
                before=index_text(alert.before, alert.before_bound),
                after=index_text(alert.after, alert.after_bound),
                periods=periods,
                answers=at_least_text(alert.answered, exact=alert.exact),
            )
        else:
            line = text(
                "alert.participation_drop"
                if alert.before_exact
                else "alert.participation_drop.at_least",
                language,
                before=share_text(alert.before),
                after=share_text(alert.after),
                period=alert.periods[-1],
            )
        lines.append(Paragraph("⚠️ " + line, strong=True))
    return lines


def _weeks_table(periods: tuple[PeriodReport, ...], language: Language) -> Table:
    header = tuple(
        text(f"report.col.{name}", language)
        for name in ("week", "rule", "answered", "index", "favourable", "change", "stories")
    )
    rows = []
    for period in periods:
        rule = f"#{period.rule.position}" if period.rule else "—"
        figures = period.figures
        if period.rule is None:
            rows.append((period.period, rule, text("report.no_round", language), "", "", "", ""))
        elif period.open:  # nothing of an open week, not even how many answered so far
            rows.append((period.period, rule, text("report.open", language), "", "", "", ""))
        elif figures.hidden:
            rows.append((period.period, rule, text("report.not_enough", language), "", "", "", ""))
        else:
            rows.append(
                (
                    period.period,
                    rule,
                    _answered(figures),
                    index_text(figures.index, figures.index_bound),
                    share_text(figures.favourable),
                    change_text(period.change_previous),
                    "—" if figures.stories is None else str(figures.stories),
                )
            )
    return Table(text("report.weekly", language), header, tuple(rows))


def _answered(figures: Figures) -> str:
    """ "12/20 60%", or for a band "≥6/10 ≥60%": never a count that tells who did not answer."""
    answered = at_least_text(figures.answered, exact=figures.exact)
    if figures.delivered:
        rate = participation_text(figures.participation, exact=figures.exact)
        return f"{answered}/{figures.delivered} {rate}"
    return answered


def _rules_table(report: TrustReport, language: Language) -> Table:
    header = tuple(
        text(f"report.col.{name}", language) for name in ("rule", "index", "latest", "change")
    )
    rows = []
    for rule in report.rules:
        latest = rule.latest
        rows.append(
            (
                f"#{rule.rule.position} {_short(rule.rule.text(language), 34)}",
                index_text(rule.figures.index) if rule.figures.shown else "—",
                index_text(latest.index, latest.index_bound)
                if latest is not None and latest.shown
                else "—",
                change_text(rule.change),
            )
        )
    return Table(text("report.rules", language), header, tuple(rows))


def _teams_table(report: TrustReport, language: Language) -> Table | None:
    closed = [p for p in report.periods if p.rule is not None and not p.open and p.teams]
    if report.request.team is not None or not closed:
        return None
    latest = closed[-1]
    named = [(team, figures) for team, figures in latest.teams if team]
    if not named:
        return None
    header = tuple(
        text(f"report.col.{name}", language) for name in ("team", "answered", "index", "favourable")
    )
    rows = tuple(
        (team, text("report.not_enough", language), "", "")
        if figures.hidden
        else (
            team,
            _answered(figures),
            index_text(figures.index, figures.index_bound),
            share_text(figures.favourable),
        )
        for team, figures in named
    )
    return Table(text("report.teams", language, period=latest.period), header, rows)


def _stories(
    stories: tuple[SharedStory, ...], language: Language, *, limit: int, title: str | None = None
) -> list[Part]:
    parts: list[Part] = [Paragraph(title or text("report.stories", language), strong=True)]
    if not stories:
        parts.append(Note(text("report.no_stories", language)))
    for story in stories[:limit]:
        parts.append(
            Quote(
                story.text,
                story.author_user_id,
                f"{story.period} · #{story.rule.position}",
                story.author_name,
            )
        )
    return parts


def _short(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
