"""The "Share a story" button: opens the story modal."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from trustbot.core.catalogue import text
from trustbot.core.people import language_of
from trustbot.core.prompts import prompt_state
from trustbot.db.errors import describe_database_error
from trustbot.slack.blocks.story import StoryContext, render_story_modal
from trustbot.slack.listeners.context import ListenerDeps, deps_of
from trustbot.slack.listeners.prompt_message import PromptClick, show_prompt_state

logger = logging.getLogger(__name__)
MAX_ROUND_ID = 2**31 - 1


async def handle_share_story(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Acknowledge at once; open the modal right after, while the trigger id is fresh (3 s)."""
    await ack()
    deps = deps_of(context)
    deps.work.spawn(open_story_modal(deps, client, body), what="opening the story modal")


async def open_story_modal(
    deps: ListenerDeps, client: AsyncWebClient, body: dict[str, Any]
) -> None:
    """Open the modal for the round of the person's own prompt, or tell them why not."""
    services = deps.services
    click = PromptClick.from_body(body)
    language = await language_of(services, actor=click.actor)
    state = None
    if click.value.isdecimal() and 0 < int(click.value) <= MAX_ROUND_ID:
        try:
            state = await prompt_state(
                services, actor=click.actor, address=click.address, round_id=int(click.value)
            )
        except SQLAlchemyError as error:
            logger.error("could not look up a prompt: %s", describe_database_error(error))
            await click.tell(client, text("story.error.open_failed", language))
            return
    if state is None:
        logger.warning("refused a story button: not a prompt of this person's")
        await click.tell(client, text("error.unknown_round", language))
        return
    if not state.open:
        await click.tell(client, text("error.round_closed", language))
        await show_prompt_state(client, click, state, language)
        return
    view = render_story_modal(
        state.rule, language, StoryContext(state.round_id, click.channel_id, click.message_ts)
    )
    try:
        await client.views_open(trigger_id=str(body["trigger_id"]), view=view)
    except SlackApiError as error:
        logger.error(
            "could not open the story modal: Slack said %s",
            error.response.get("error", "unknown_error"),
        )
        await click.tell(client, text("story.error.open_failed", language))
