"""A trust report as terminal text, for `trustbot report` and `trustbot export`."""

from __future__ import annotations

from trustbot.core.catalogue import Language, text
from trustbot.core.reports import TrustReport
from trustbot.render.report import Heading, Note, Paragraph, Part, Quote, Table, compose_report


def render_report_text(report: TrustReport, *, language: Language, timezone: str) -> str:
    """The report as plain text, tables aligned in columns."""
    return render_parts_text(compose_report(report, language=language, timezone=timezone), language)


def render_parts_text(parts: list[Part], language: Language) -> str:
    """Neutral parts as lines of text."""
    lines: list[str] = []
    for part in parts:
        if isinstance(part, Heading):
            lines += [part.text, "═" * len(part.text)]
        elif isinstance(part, Note):
            lines += [part.text, ""]
        elif isinstance(part, Paragraph):
            lines += [part.text.upper() if part.strong and len(part.text) < 40 else part.text, ""]
        elif isinstance(part, Table):
            widths = [
                max(len(row[column]) for row in (part.header, *part.rows))
                for column in range(len(part.header))
            ]
            lines.append(part.title)
            for row in (part.header, *part.rows):
                lines.append(
                    "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                )
            lines.append("")
        elif isinstance(part, Quote):
            author = part.author_name or part.author_user_id or text("report.anonymous", language)
            lines += [f"  │ {line}" for line in part.text.splitlines()]
            lines += [f"  — {author} · {part.footer}", ""]
    return "\n".join(lines).rstrip() + "\n"
