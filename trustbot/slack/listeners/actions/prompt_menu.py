"""The prompt's overflow menu: "Pause weekly prompts"."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from trustbot.core.interactions import PromptsWord, change_prompts
from trustbot.slack.blocks.ids import PAUSE_VALUE
from trustbot.slack.listeners.context import ListenerDeps, after_ack
from trustbot.slack.listeners.prompt_message import PromptClick

logger = logging.getLogger(__name__)


async def pause_from_menu(deps: ListenerDeps, client: AsyncWebClient, body: dict[str, Any]) -> None:
    """Pause the person's prompts when they chose it in the menu, as `/trust-prompts pause`."""
    click = PromptClick.from_body(body)
    option = (body["actions"][0].get("selected_option") or {}).get("value")
    if option != PAUSE_VALUE:
        logger.warning("ignored an unknown prompt menu option")
        return
    await click.tell(
        client, await change_prompts(deps.services, actor=click.actor, word=PromptsWord.PAUSE)
    )


handle_prompt_menu = after_ack(pause_from_menu, what="pausing prompts")
