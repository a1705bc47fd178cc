"""The "Share a story" button: opens the story modal."""

from __future__ import annotations

from logging import Logger
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from trustbot.core.catalogue import text
from trustbot.core.rounds import rule_of
from trustbot.slack.blocks.story import StoryContext, render_story_modal
from trustbot.slack.listeners.context import services_of
from trustbot.slack.listeners.prompt_message import PromptMessage, find_prompt_round


async def handle_share_story(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    logger: Logger,
) -> None:
    """Open the modal while the trigger id is fresh (Slack allows 3 seconds)."""
    await ack()
    services = services_of(context)
    message = PromptMessage.from_body(body)
    value = str(body["actions"][0].get("value", ""))
    round_ = None
    if value.isdecimal() and 0 < int(value) < 2**31:
        async with services.sessions() as session:
            round_ = await find_prompt_round(
                session=session,
                message=message,
                round_id=int(value),
                respondent=services.pseudonym(message.user_id),
            )
    if round_ is None:
        logger.warning("refused a story button with value %r", value[:40])
        await message.explain(client, text("error.unknown_round", services.language))
        return
    view = render_story_modal(
        rule_of(round_.rule),
        services.language,
        StoryContext(round_.id, message.channel_id, message.message_ts),
    )
    await client.views_open(trigger_id=body["trigger_id"], view=view)
