"""The trend chart in Teams: drawn at the size a card shows, for teams/cards.py to embed."""

from __future__ import annotations

from trustbot.core.catalogue import Language
from trustbot.core.reports import TrustReport
from trustbot.render.charts import report_chart_png_async

CHART_WIDTH, CHART_HEIGHT = 1024, 576  # Teams renders card images up to 1024 x 1024


async def card_chart(report: TrustReport, language: Language) -> bytes:
    """The report's trend chart as PNG bytes (drawn in a worker thread)."""
    return await report_chart_png_async(
        report, language, width_px=CHART_WIDTH, height_px=CHART_HEIGHT
    )
