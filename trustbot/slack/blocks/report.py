"""The trust report and the leadership digest as Block Kit, from the neutral composition."""

from __future__ import annotations

import re
from typing import Any

from trustbot.core.catalogue import Language, text
from trustbot.core.reports import TrustReport
from trustbot.render.report import (
    Heading,
    Note,
    Paragraph,
    Part,
    Quote,
    Table,
    compose_digest,
    compose_report,
)
from trustbot.slack.markup import escape_mrkdwn

Block = dict[str, Any]
TEXT_LIMIT = 3000  # Slack's limit for one text object
HEADER_LIMIT = 150
MESSAGE_BLOCKS = 50  # Slack's limit for one message
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


def render_trust_report_blocks(
    report: TrustReport, *, language: Language, timezone: str
) -> list[Block]:
    """The report as Block Kit for an ephemeral message (fits one message)."""
    return render_parts(compose_report(report, language=language, timezone=timezone), language)


def render_digest_messages(
    report: TrustReport, *, language: Language, timezone: str
) -> list[list[Block]]:
    """The digest as one or more messages, each within Slack's 50-block limit."""
    blocks = render_parts(compose_digest(report, language=language, timezone=timezone), language)
    return [
        blocks[start : start + MESSAGE_BLOCKS] for start in range(0, len(blocks), MESSAGE_BLOCKS)
    ]


def report_fallback_text(report: TrustReport, language: Language) -> str:
    """Plain text for notifications."""
    return text("report.title", language, weeks=report.request.weeks)


def render_parts(parts: list[Part], language: Language) -> list[Block]:
    """Neutral parts as blocks; user text is escaped, long text split at Slack's limits."""
    blocks: list[Block] = []
    for part in parts:
        if isinstance(part, Heading):
            blocks.append(
                {
                    "type": "header",
                    "text": {"type": "plain_text", "text": _shorten(part.text, HEADER_LIMIT)},
                }
            )
        elif isinstance(part, Note):
            blocks.append(
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": escape_mrkdwn(part.text)}],
                }
            )
        elif isinstance(part, Paragraph):
            line = escape_mrkdwn(part.text)
            blocks.append(_section(f"*{line}*" if part.strong else line))
        elif isinstance(part, Table):
            blocks += _table(part)
        elif isinstance(part, Quote):
            author = _author(part, language)
            footer = f"\n— {author} · {part.footer}"
            quoted = "\n".join(f">{line}" for line in escape_mrkdwn(part.text).splitlines())
            blocks.append(_section(_shorten(quoted, TEXT_LIMIT - len(footer)) + footer))
    return blocks


def _author(quote: Quote, language: Language) -> str:
    """A Slack author as a mention (Slack shows their name); one from Teams by their name."""
    if quote.author_user_id and _SLACK_USER.match(quote.author_user_id):
        return f"<@{quote.author_user_id}>"
    if quote.author_user_id:
        return escape_mrkdwn(quote.author_name or text("report.colleague", language))
    return "_" + text("report.anonymous", language) + "_"


def _table(table: Table) -> list[Block]:
    widths = [
        max(len(row[column]) for row in (table.header, *table.rows))
        for column in range(len(table.header))
    ]
    lines = [_row(table.header, widths), *(_row(row, widths) for row in table.rows)]
    blocks: list[Block] = []
    chunk: list[str] = []
    title = f"*{escape_mrkdwn(table.title)}*\n"
    for line in lines:
        if chunk and len(title) + sum(len(c) + 1 for c in chunk) + len(line) + 8 > TEXT_LIMIT:
            blocks.append(_section(title + "```\n" + escape_mrkdwn("\n".join(chunk)) + "\n```"))
            title, chunk = "", [lines[0]]
        chunk.append(line)
    blocks.append(_section(title + "```\n" + escape_mrkdwn("\n".join(chunk)) + "\n```"))
    return blocks


def _row(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()


def _section(mrkdwn: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def _shorten(mrkdwn: str, limit: int) -> str:
    """Cut escaped text to `limit` characters without leaving half an entity like `&am`."""
    if len(mrkdwn) <= limit:
        return mrkdwn
    cut = re.sub(r"&[a-z]*$", "", mrkdwn[: limit - 1])
    return cut + "…"
