"""/trust-report [weeks]: the engagement report, for report viewers only."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from trustbot.core.catalogue import Language, text
from trustbot.core.reports import (
    DEFAULT_WEEKS,
    MAX_WEEKS,
    ReportArgumentError,
    TrustReport,
    current_trust_report,
    parse_report_arguments,
)
from trustbot.db.errors import describe_database_error
from trustbot.slack.blocks.report import render_trust_report_blocks, report_fallback_text
from trustbot.slack.charts import upload_chart
from trustbot.slack.directory import is_report_viewer
from trustbot.slack.listeners.context import ListenerDeps, deps_of

TRUST_REPORT_COMMAND = "/trust-report"
logger = logging.getLogger(__name__)


async def handle_trust_report(
    ack: AsyncAck,
    command: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    """Ack at once; check the viewer and answer through response_url after the ack."""
    await ack()
    deps = deps_of(context)
    deps.work.spawn(answer_trust_report(deps, command, client, respond), what="/trust-report")


async def answer_trust_report(
    deps: ListenerDeps, command: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
) -> None:
    """The report for viewers, a polite refusal for anyone else; ephemeral either way."""
    services = deps.services
    settings = services.settings
    language = services.language
    try:
        allowed = await is_report_viewer(client, command["user_id"], settings.report_viewers)
    except SlackApiError as error:
        logger.error("could not check report viewers: %s", error.response.get("error"))
        await respond(text=text("report.failed", language), response_type="ephemeral")
        return
    if not allowed:
        await respond(text=text("report.refused", language), response_type="ephemeral")
        return
    try:
        request = parse_report_arguments(
            str(command.get("text", "")),
            teams=tuple(settings.teams),
            rules=len(services.rules),
        )
    except ReportArgumentError:
        usage = text("report.usage", language, max=MAX_WEEKS, default=DEFAULT_WEEKS)
        await respond(text=usage, response_type="ephemeral")
        return
    user_id = str(command["user_id"])
    try:
        report = await current_trust_report(services, request)
    except SQLAlchemyError as error:
        logger.error("could not build the trust report: %s", describe_database_error(error))
        await respond(text=text("report.failed", language), response_type="ephemeral")
        return
    blocks = render_trust_report_blocks(report, language=language, timezone=settings.timezone)
    chart_sent = await send_chart_privately(client, user_id, report, language)
    if chart_sent:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": text("report.chart_sent", language)}],
            }
        )
    await respond(
        text=report_fallback_text(report, language), blocks=blocks, response_type="ephemeral"
    )


async def send_chart_privately(
    client: AsyncWebClient, user_id: str, report: TrustReport, language: Language
) -> bool:
    """Upload the trend chart into the viewer's DM with the app: a report is for their eyes
    only, and an image cannot travel in an ephemeral response."""
    try:
        channel = (await client.conversations_open(users=user_id))["channel"]["id"]
        await upload_chart(client, str(channel), report, language)
    except SlackApiError as error:
        logger.warning(
            "could not send the trend chart: Slack said %s",
            error.response.get("error", "unknown_error"),
        )
        return False
    except Exception:  # the chart is a bonus: a bug drawing it must not cost the report
        logger.exception("could not draw the trend chart")
        return False
    return True
