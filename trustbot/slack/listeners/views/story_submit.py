"""The story modal's submit: validate and store, then answer with what happens to the story.

The story is stored before the ack, so a failed save keeps the modal open with the text in it
and an inline error: nothing the person wrote is lost. A database write takes milliseconds,
well inside Slack's three seconds. The ack then replaces the modal with a private thank-you.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext

from trustbot.core.interactions import share_story
from trustbot.core.prompts import Actor
from trustbot.slack.blocks.ids import (
    STORY_TEXT_ACTION,
    STORY_TEXT_BLOCK,
    STORY_VISIBILITY_ACTION,
    STORY_VISIBILITY_BLOCK,
)
from trustbot.slack.blocks.story import StoryContext, render_story_saved_view, story_errors
from trustbot.slack.listeners.context import PLATFORM, SLACK_COMMANDS, deps_of

logger = logging.getLogger(__name__)


async def handle_story_submit(
    ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
) -> None:
    """Store the story with its round and rule, or keep the modal open with the reason."""
    view = body["view"]
    values = (view.get("state") or {}).get("values") or {}
    story_text = (values.get(STORY_TEXT_BLOCK) or {}).get(STORY_TEXT_ACTION, {}).get("value")
    choice = (values.get(STORY_VISIBILITY_BLOCK) or {}).get(STORY_VISIBILITY_ACTION, {})
    round_id: int | None = None
    try:
        round_id = StoryContext.decode(str(view.get("private_metadata") or "")).round_id
    except (ValueError, KeyError):
        logger.warning("story modal with unreadable private_metadata")
    answer = await share_story(
        deps_of(context).services,
        actor=Actor(PLATFORM, str(body["user"]["id"])),
        round_id=round_id,
        visibility=(choice.get("selected_option") or {}).get("value"),
        story=story_text,
        source_id=str(view.get("id") or "") or None,
    )
    if not answer.saved:
        await ack(response_action="errors", errors=story_errors(answer.reply.text(SLACK_COMMANDS)))
        return
    await ack(
        response_action="update",
        view=render_story_saved_view(answer.visibility, answer.reply.language),
    )
