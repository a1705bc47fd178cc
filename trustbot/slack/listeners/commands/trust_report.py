"""/trust-report [weeks] [rule=N] [team=NAME]: the trust report, for report viewers only."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from trustbot.core.catalogue import Language, text
from trustbot.core.interactions import Reply, request_report
from trustbot.core.prompts import Actor
from trustbot.core.reports import TrustReport
from trustbot.slack.blocks.report import render_trust_report_blocks, report_fallback_text
from trustbot.slack.charts import upload_chart
from trustbot.slack.directory import report_viewer_check
from trustbot.slack.listeners.context import PLATFORM, SLACK_COMMANDS, ListenerDeps, deps_of

TRUST_REPORT_COMMAND = SLACK_COMMANDS.report
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
    """The core's answer, ephemeral: the report for viewers (with its chart in their DM), a
    refusal, the usage or a failure for anyone else."""
    services = deps.services
    user_id = str(command["user_id"])
    result = await request_report(
        services,
        actor=Actor(PLATFORM, user_id),
        arguments=str(command.get("text", "")),
        may_see=report_viewer_check(client, user_id, services.settings.report_viewers),
    )
    if isinstance(result, Reply):
        await respond(text=result.text(SLACK_COMMANDS), response_type="ephemeral")
        return
    report, language = result.report, result.language
    blocks = render_trust_report_blocks(
        report, language=language, timezone=services.settings.timezone
    )
    if await send_chart_privately(client, user_id, report, language):
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
