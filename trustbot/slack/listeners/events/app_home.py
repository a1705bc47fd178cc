"""The App Home tab: published when a person opens it, and after they change a choice there."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from trustbot.core.people import home_state, set_language, set_paused
from trustbot.core.prompts import Actor
from trustbot.core.reports import current_trust_report
from trustbot.db.errors import describe_database_error
from trustbot.render.report import compose_digest
from trustbot.slack.blocks.home import render_home_view
from trustbot.slack.blocks.report import render_parts
from trustbot.slack.directory import is_report_viewer
from trustbot.slack.listeners.context import ListenerDeps, deps_of
from trustbot.slack.listeners.prompt_message import PLATFORM

logger = logging.getLogger(__name__)


async def handle_app_home_opened(
    event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """bolt acknowledges the event; the tab is published after."""
    if event.get("tab", "home") != "home":
        return
    deps = deps_of(context)
    deps.work.spawn(publish_home(deps, client, str(event["user"])), what="publishing App Home")


async def handle_home_pause(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """The home tab's pause / resume button."""
    await ack()
    deps = deps_of(context)
    user_id = str(body["user"]["id"])
    paused = (body["actions"][0].get("value") or "") == "pause"

    async def work() -> None:
        await set_paused(deps.services, actor=Actor(PLATFORM, user_id), paused=paused)
        await publish_home(deps, client, user_id)

    deps.work.spawn(_logged(work()), what="pausing from App Home")


async def handle_home_language(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """The home tab's language menu."""
    await ack()
    deps = deps_of(context)
    user_id = str(body["user"]["id"])
    chosen = ((body["actions"][0].get("selected_option") or {}).get("value")) or ""
    if chosen not in ("da", "en"):
        logger.warning("ignored an unknown language choice")
        return

    async def work() -> None:
        await set_language(deps.services, actor=Actor(PLATFORM, user_id), language=chosen)  # type: ignore[arg-type]
        await publish_home(deps, client, user_id)

    deps.work.spawn(_logged(work()), what="choosing a language in App Home")


async def _logged(work: Any) -> None:
    try:
        await work
    except SQLAlchemyError as error:
        logger.error("could not save a home tab choice: %s", describe_database_error(error))


async def publish_home(deps: ListenerDeps, client: AsyncWebClient, user_id: str) -> None:
    """Build the person's home tab from stored state and publish it."""
    services = deps.services
    actor = Actor(PLATFORM, user_id)
    try:
        report = await current_trust_report(services)
        state = await home_state(services, actor=actor, report=report)
    except SQLAlchemyError as error:
        logger.error("could not build a home tab: %s", describe_database_error(error))
        return
    digest = None
    try:
        if await is_report_viewer(client, user_id, services.settings.report_viewers):
            digest = render_parts(
                compose_digest(
                    report, language=state.language, timezone=services.settings.timezone
                ),
                state.language,
            )
        await client.views_publish(user_id=user_id, view=render_home_view(state, digest=digest))
    except SlackApiError as error:
        logger.error(
            "could not publish a home tab: Slack said %s",
            error.response.get("error", "unknown_error"),
        )
