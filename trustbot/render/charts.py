"""The report's trend chart as a PNG: the report's chart series handed to the renderer.

The renderer (matplotlib and numpy, about 40 MB resident) is imported when the first chart is
drawn, not when trustbot starts: a process that only sends prompts never needs it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from trustbot.core.catalogue import Language, text
from trustbot.core.reports import TrustReport

if TYPE_CHECKING:
    from trustbot.render.chart import TrendChart


def report_chart(report: TrustReport, language: Language) -> TrendChart:
    """One line per rule over the last periods; hidden points become visible gaps."""
    from trustbot.render.chart import TrendChart, TrendSeries

    return TrendChart(
        title=text("report.chart_title", language, weeks=len(report.chart_periods)),
        periods=report.chart_periods,
        series=tuple(
            TrendSeries(
                label=f"#{series.rule.position} {series.rule.text(language)}",
                points=series.points,
                hidden=series.hidden,
            )
            for series in report.chart
        ),
        note=text("report.chart_note", language),
        overall=report.chart_overall or None,
    )


def report_chart_png(
    report: TrustReport, language: Language, *, width_px: int = 1200, height_px: int = 675
) -> bytes:
    """The chart as PNG bytes."""
    from trustbot.render.chart import render_trend_chart_png

    return render_trend_chart_png(
        report_chart(report, language),
        width_px=width_px,
        height_px=height_px,
        empty_text=text("report.chart_empty", language),
        overall_label=text("report.chart_overall", language),
    )


async def report_chart_png_async(
    report: TrustReport, language: Language, *, width_px: int = 1200, height_px: int = 675
) -> bytes:
    """The chart as PNG bytes, drawn in a worker thread: a draw takes tens of milliseconds of
    CPU that must not hold up the event loop (and the clicks it is acknowledging)."""
    return await asyncio.to_thread(
        report_chart_png, report, language, width_px=width_px, height_px=height_px
    )
