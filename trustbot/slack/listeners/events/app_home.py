"""The App Home tab: published when a person opens it, and after they change a choice there."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from trustbot.core.interactions import FAILED, PromptsWord, attempt, change_prompts
from trustbot.core.people import home_state, set_language
from trustbot.core.prompts import Actor
from trustbot.core.reports import current_trust_report
from trustbot.render.report import compose_digest
from trustbot.slack.blocks.home import render_home_view
from trustbot.slack.blocks.report import render_parts
from trustbot.slack.directory import is_report_viewer
from trustbot.slack.listeners.context import PLATFORM, ListenerDeps, after_ack, deps_of

logger = logging.getLogger(__name__)


async def handle_app_home_opened(
    event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """bolt acknowledges the event; the tab is published after."""
    if event.get("tab", "home") != "home":
        return
    deps = deps_of(context)
    deps.work.spawn(publish_home(deps, client, str(event["user"])), what="publishing App Home")


async def pause_from_home(deps: ListenerDeps, client: AsyncWebClient, body: dict[str, Any]) -> None:
    """The home tab's pause / resume button, as `/trust-prompts pause|resume`; the republished
    tab shows where the person stands (a failure is logged and changes nothing there)."""
    user_id = str(body["user"]["id"])
    pause = (body["actions"][0].get("value") or "") == "pause"
    word = PromptsWord.PAUSE if pause else PromptsWord.RESUME
    await change_prompts(deps.services, actor=Actor(PLATFORM, user_id), word=word)
    await publish_home(deps, client, user_id)


async def choose_language(deps: ListenerDeps, client: AsyncWebClient, body: dict[str, Any]) -> None:
    """The home tab's language menu."""
    user_id = str(body["user"]["id"])
    chosen = ((body["actions"][0].get("selected_option") or {}).get("value")) or ""
    if chosen not in ("da", "en"):
        logger.warning("ignored an unknown language choice")
        return
    actor = Actor(PLATFORM, user_id)
    await attempt(
        "save a home tab choice",
        set_language(deps.services, actor=actor, language=chosen),  # type: ignore[arg-type]
    )
    await publish_home(deps, client, user_id)


handle_home_pause = after_ack(pause_from_home, what="pausing from App Home")
handle_home_language = after_ack(choose_language, what="choosing a language in App Home")


async def publish_home(deps: ListenerDeps, client: AsyncWebClient, user_id: str) -> None:
    """Build the person's home tab from stored state and publish it."""
    services = deps.services
    actor = Actor(PLATFORM, user_id)
    report = await attempt("build a home tab", current_trust_report(services))
    if report is FAILED:
        return
    state = await attempt("build a home tab", home_state(services, actor=actor, report=report))
    if state is FAILED:
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
