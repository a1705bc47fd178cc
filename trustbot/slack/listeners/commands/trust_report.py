"""/trust-report [weeks]: the engagement report, for report viewers only."""

from __future__ import annotations

from logging import Logger
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from trustbot.core.catalogue import text
from trustbot.core.reports import (
    DEFAULT_WEEKS,
    MAX_WEEKS,
    ReportArgumentError,
    current_trust_report,
    parse_weeks,
)
from trustbot.slack.blocks.report import render_trust_report_blocks, report_fallback_text
from trustbot.slack.directory import is_report_viewer
from trustbot.slack.listeners.context import services_of

TRUST_REPORT_COMMAND = "/trust-report"


async def handle_trust_report(
    ack: AsyncAck,
    command: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
    logger: Logger,
) -> None:
    """Ack at once, then check the viewer and answer through response_url, ephemerally."""
    await ack()
    services = services_of(context)
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
        weeks = parse_weeks(str(command.get("text", "")))
    except ReportArgumentError:
        usage = text("report.usage", language, max=MAX_WEEKS, default=DEFAULT_WEEKS)
        await respond(text=usage, response_type="ephemeral")
        return
    try:
        report = await current_trust_report(services, weeks)
    except SQLAlchemyError:
        logger.exception("could not build the trust report")
        await respond(text=text("report.failed", language), response_type="ephemeral")
        return
    await respond(
        text=report_fallback_text(report, language),
        blocks=render_trust_report_blocks(report, language=language, timezone=settings.timezone),
        response_type="ephemeral",
    )
