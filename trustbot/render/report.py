"""A trust report composed once, as neutral parts; Slack, Teams and the terminal render them.

Parts carry plain text. User-written text (stories) stays in `Quote.text`, so each renderer
escapes it for its own markup; everything else is ours.
"""

from __future__ import annotations

from dataclasses import dataclass

from trustbot.core.catalogue import Language, text
from trustbot.core.figures import Figures
from trustbot.core.reports import Alert, PeriodReport, SharedStory, TrustReport
from trustbot.render.format import change_text, index_text, share_text


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
        Note(text("report.context", language, min=report.min_group_size, tz=timezone)),
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


def compose_digest(report: TrustReport, *, language: Language, timezone: str) -> list[Part]:
    """The leadership digest: the same figures, shorter, with stories of the week's rule."""
    latest = next((p for p in reversed(report.periods) if p.rule is not None), None)
    period = latest.period if latest else ""
    parts: list[Part] = [
        Heading(text("digest.title", language, period=period)),
        Note(text("report.context", language, min=report.min_group_size, tz=timezone)),
        *_headline(report, language),
        *_alerts(report.alerts, language),
        _rules_table(report, language),
        _weeks_table(report.periods[-4:], language),
    ]
    teams = _teams_table(report, language)
    if teams is not None:
        parts.append(teams)
    if latest is not None and latest.rule is not None:
        position = latest.rule.position
        own = tuple(story for story in report.stories if story.rule.position == position)
        parts += _stories(own, language, limit=DIGEST_STORIES, rule=latest.rule.text(language))
    return parts


def _headline(report: TrustReport, language: Language) -> list[Part]:
    overall = report.overall
    if overall.hidden or overall.index is None:
        return [Paragraph(text("report.headline.none", language))]
    return [
        Paragraph(
            text(
                "report.headline",
                language,
                index=index_text(overall.index),
                change=f" {change}" if (change := change_text(report.overall_change)) else "",
                favourable=share_text(overall.favourable),
                participation=share_text(overall.participation),
                answers=overall.respondents,
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
                before=index_text(alert.before),
                after=index_text(alert.after),
                periods=periods,
                answers=alert.respondents,
            )
        else:
            line = text(
                "alert.participation_drop",
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
        elif figures.hidden:
            rows.append((period.period, rule, text("report.not_enough", language), "", "", "", ""))
        elif period.open:
            answered = _answered(figures)
            rows.append((period.period, rule, answered, text("report.open", language), "", "", ""))
        else:
            rows.append(
                (
                    period.period,
                    rule,
                    _answered(figures),
                    index_text(figures.index),
                    share_text(figures.favourable),
                    change_text(period.change_previous),
                    str(figures.stories),
                )
            )
    return Table(text("report.weekly", language), header, tuple(rows))


def _answered(figures: Figures) -> str:
    if figures.delivered:
        return f"{figures.respondents}/{figures.delivered} {share_text(figures.participation)}"
    return str(figures.respondents)


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
                index_text(latest.index) if latest is not None and latest.shown else "—",
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
        else (team, _answered(figures), index_text(figures.index), share_text(figures.favourable))
        for team, figures in named
    )
    return Table(text("report.teams", language, period=latest.period), header, rows)


def _stories(
    stories: tuple[SharedStory, ...], language: Language, *, limit: int, rule: str | None = None
) -> list[Part]:
    title = (
        text("digest.stories", language) if rule is not None else text("report.stories", language)
    )
    parts: list[Part] = [Paragraph(title, strong=True)]
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
