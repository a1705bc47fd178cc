"""The "Share a story" button: opens the story modal."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from trustbot.core.interactions import Reply, start_story
from trustbot.slack.blocks.story import StoryContext, render_story_modal
from trustbot.slack.listeners.context import ListenerDeps, after_ack
from trustbot.slack.listeners.prompt_message import PromptClick, show_prompt_state

logger = logging.getLogger(__name__)


async def open_story_modal(
    deps: ListenerDeps, client: AsyncWebClient, body: dict[str, Any]
) -> None:
    """Open the modal for the round of the person's own prompt, or tell them why not."""
    click = PromptClick.from_body(body)
    start = await start_story(
        deps.services, actor=click.actor, address=click.address, round_id=click.value
    )
    if start.refusal is not None:
        await click.tell(client, start.refusal)
        if start.prompt is not None:
            await show_prompt_state(client, click, start.prompt, start.language)
        return
    assert start.prompt is not None
    view = render_story_modal(
        start.prompt.rule,
        start.language,
        StoryContext(start.prompt.round_id, click.channel_id, click.message_ts),
    )
    try:
        # Right after the ack, while the trigger id is fresh (3 s).
        await client.views_open(trigger_id=str(body["trigger_id"]), view=view)
    except SlackApiError as error:
        logger.error(
            "could not open the story modal: Slack said %s",
            error.response.get("error", "unknown_error"),
        )
        await click.tell(client, Reply("story.error.open_failed", start.language))


handle_share_story = after_ack(open_story_modal, what="opening the story modal")
