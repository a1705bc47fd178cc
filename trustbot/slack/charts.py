"""The trend chart in Slack: rendered once, uploaded with files_upload_v2."""

from __future__ import annotations

import asyncio

from slack_sdk.web.async_client import AsyncWebClient

from trustbot.core.catalogue import Language, text
from trustbot.core.reports import TrustReport
from trustbot.render.charts import report_chart_png


async def upload_chart(
    client: AsyncWebClient, channel_id: str, report: TrustReport, language: Language
) -> None:
    """Share the report's trend chart in a channel (SlackApiError when Slack refuses).

    The chart is drawn in a worker thread: drawing takes a tenth of a second or more (the
    first one also imports matplotlib), and the event loop meanwhile acknowledges Slack's
    requests, which must be answered within three seconds.
    """
    title = text("report.chart_title", language, weeks=len(report.chart_periods))
    png = await asyncio.to_thread(report_chart_png, report, language)
    await client.files_upload_v2(
        channel=channel_id,
        file=png,
        filename="trust-trend.png",
        title=title,
        alt_txt=title,
    )
