"""The prompt's overflow menu: "Pause weekly prompts"."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from trustbot.core.catalogue import text
from trustbot.core.people import language_of, set_paused
from trustbot.core.prompts import Actor
from trustbot.db.errors import describe_database_error
from trustbot.slack.blocks.ids import PAUSE_VALUE
from trustbot.slack.listeners.context import ListenerDeps, deps_of
from trustbot.slack.listeners.prompt_message import PLATFORM, PromptClick

logger = logging.getLogger(__name__)


async def handle_prompt_menu(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Acknowledge at once; pause after the ack and say so privately."""
    await ack()
    deps = deps_of(context)
    deps.work.spawn(pause_from_menu(deps, client, body), what="pausing prompts")


async def pause_from_menu(deps: ListenerDeps, client: AsyncWebClient, body: dict[str, Any]) -> None:
    """Pause the person's prompts when they chose it in the menu."""
    click = PromptClick.from_body(body)
    language = await language_of(deps.services, actor=click.actor)
    option = (body["actions"][0].get("selected_option") or {}).get("value")
    if option != PAUSE_VALUE:
        logger.warning("ignored an unknown prompt menu option")
        return
    try:
        await set_paused(deps.services, actor=Actor(PLATFORM, click.user_id), paused=True)
    except SQLAlchemyError as error:
        logger.error("could not pause prompts: %s", describe_database_error(error))
        await click.tell(client, text("pause.failed", language))
        return
    await click.tell(client, text("pause.done", language))
