"""The /trust-report message: a weekly table, a trend per rule and the latest stories."""

from __future__ import annotations

import re
from typing import Any

from trustbot.core.catalogue import Language, text
from trustbot.core.privacy import escape_mrkdwn
from trustbot.core.reports import RuleTrend, TrustReport, WeekFigures

Block = dict[str, Any]
TEXT_LIMIT = 3000  # Slack's limit for one text object
ROWS_PER_BLOCK = 40  # keeps each code block under Slack's 3,000-character text limit
SPARKS = "▁▂▃▄▅▆▇█"
TREND_WORD = {
    "up": "report.trend.up",
    "down": "report.trend.down",
    "flat": "report.trend.flat",
    "single": "report.trend.single",
    "none": "report.trend.none",
}
TREND_ARROW = {"up": "↗", "down": "↘", "flat": "", "single": "", "none": ""}


def render_trust_report_blocks(
    report: TrustReport, *, language: Language, timezone: str
) -> list[Block]:
    """The report as Block Kit for an ephemeral message."""
    blocks: list[Block] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": text("report.title", language, weeks=len(report.weeks)),
            },
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": text(
                        "report.context", language, min=report.min_group_size, tz=timezone
                    ),
                }
            ],
        },
        _section(text("report.weekly", language)),
    ]
    rows = [_week_row(week, language) for week in report.weeks]
    header = _row(
        text("report.col.week", language),
        text("report.col.rule", language),
        text("report.col.answered", language),
        text("report.col.average", language),
        text("report.col.stories", language),
        text("report.col.reactions", language),
    )
    for start in range(0, len(rows), ROWS_PER_BLOCK):
        chunk = [header, *rows[start : start + ROWS_PER_BLOCK]]
        blocks.append(_section("```\n" + "\n".join(chunk) + "\n```"))
    blocks.append({"type": "divider"})
    trend_lines = [_trend_line(trend, language) for trend in report.trends]
    blocks.extend(_sections([text("report.trends", language), *trend_lines]))
    blocks.append({"type": "divider"})
    blocks.append(_section(text("report.stories", language)))
    if not report.stories:
        blocks.append(_section(text("report.no_stories", language)))
    for story in report.stories:
        author = (
            f"<@{story.author_user_id}>"
            if story.author_user_id
            else "_" + text("report.anonymous", language) + "_"
        )
        footer = f"\n— {author} · {story.period} · #{story.rule.position}"
        quoted = "\n".join(f">{line}" for line in escape_mrkdwn(story.text).splitlines())
        blocks.append(_section(_shorten(quoted, TEXT_LIMIT - len(footer)) + footer))
    return blocks


def report_fallback_text(report: TrustReport, language: Language) -> str:
    """Plain text for notifications."""
    return text("report.title", language, weeks=len(report.weeks))


def _section(mrkdwn: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def _sections(lines: list[str]) -> list[Block]:
    """Lines packed into as few sections as Slack's text limit allows."""
    chunks: list[str] = []
    for line in lines:
        if chunks and len(chunks[-1]) + 1 + len(line) <= TEXT_LIMIT:
            chunks[-1] += "\n" + line
        else:
            chunks.append(_shorten(line, TEXT_LIMIT))
    return [_section(chunk) for chunk in chunks]


def _shorten(mrkdwn: str, limit: int) -> str:
    """Cut escaped text to `limit` characters without leaving half an entity like `&am`."""
    if len(mrkdwn) <= limit:
        return mrkdwn
    cut = re.sub(r"&[a-z]*$", "", mrkdwn[: limit - 1])
    return cut + "…"


def _row(week: str, rule: str, answered: str, average: str, stories: str, reactions: str) -> str:
    return f"{week:<9} {rule:<5} {answered:<13} {average:>4} {stories:>9} {reactions:>10}"


def _week_row(week: WeekFigures, language: Language) -> str:
    if week.rule is None:
        return f"{week.period:<9} {'—':<5} {text('report.no_round', language)}"
    rule = f"#{week.rule.position}"
    if week.hidden:
        return (
            f"{week.period:<9} {rule:<5} {text('report.not_enough', language):<18} "
            f"{week.stories:>9} {week.reactions:>10}"
        )
    percent = round(100 * week.answered / week.delivered) if week.delivered else 0
    answered = f"{week.answered}/{week.delivered} {percent}%"
    average = f"{week.average:.2f}" if week.average is not None else "—"
    return _row(week.period, rule, answered, average, str(week.stories), str(week.reactions))


def _trend_line(trend: RuleTrend, language: Language) -> str:
    rule = escape_mrkdwn(trend.rule.text(language))
    direction = trend.direction
    word = text(TREND_WORD[direction], language)
    if not trend.averages:
        return f"*#{trend.rule.position}* {rule}\n      {word}"
    figures = " → ".join(f"{value:.2f}" for value in (trend.averages[0], trend.averages[-1]))
    if direction == "single":
        figures = f"{trend.averages[0]:.2f}"
    spark = "".join(SPARKS[min(7, max(0, round((value - 1) / 4 * 7)))] for value in trend.averages)
    arrow = TREND_ARROW[direction]
    details = " ".join(part for part in (f"`{spark}`", figures, arrow, word) if part)
    return f"*#{trend.rule.position}* {rule}\n      {details}"
