"""The trend chart in Slack: rendered once, uploaded with files_upload_v2."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from trustbot.core.catalogue import Language, text
from trustbot.core.reports import TrustReport
from trustbot.render.charts import report_chart_png_async


async def upload_chart(
    client: AsyncWebClient, channel_id: str, report: TrustReport, language: Language
) -> None:
    """Share the report's trend chart in a channel (SlackApiError when Slack refuses)."""
    title = text("report.chart_title", language, weeks=len(report.chart_periods))
    chart = await report_chart_png_async(report, language)
    await client.files_upload_v2(
        channel=channel_id,
        file=chart,
        filename="trust-trend.png",
        title=title,
        alt_txt=title,
    )
