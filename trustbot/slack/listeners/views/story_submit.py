"""The story modal's submit: validate, store, then thank the author in the prompt.

The story is stored before the ack, so a failed save keeps the modal open with the text in it
and an inline error: nothing the person wrote is lost. A database write takes milliseconds,
well inside Slack's three seconds.
"""

from __future__ import annotations

from logging import Logger
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from trustbot.core.anecdotes import (
    StoryProblem,
    clean_story,
    parse_visibility,
    record_anecdote,
    stories_by,
)
from trustbot.core.pulse import score_of
from trustbot.core.rounds import get_round
from trustbot.slack.blocks.ids import (
    STORY_TEXT_ACTION,
    STORY_TEXT_BLOCK,
    STORY_VISIBILITY_ACTION,
    STORY_VISIBILITY_BLOCK,
)
from trustbot.slack.blocks.story import StoryContext, story_errors
from trustbot.slack.listeners.context import services_of
from trustbot.slack.listeners.prompt_message import show_answers


async def handle_story_submit(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    logger: Logger,
) -> None:
    """Store the story with its round and rule, or keep the modal open with the reason."""
    services = services_of(context)
    language = services.language
    view = body["view"]
    values = (view.get("state") or {}).get("values") or {}
    story_text = (values.get(STORY_TEXT_BLOCK) or {}).get(STORY_TEXT_ACTION, {}).get("value")
    choice = (values.get(STORY_VISIBILITY_BLOCK) or {}).get(STORY_VISIBILITY_ACTION, {})
    visibility = parse_visibility((choice.get("selected_option") or {}).get("value"))
    user_id = str(body["user"]["id"])
    author = services.pseudonym(user_id)
    try:
        cleaned = clean_story(story_text)
        where = StoryContext.decode(str(view.get("private_metadata") or ""))
    except StoryProblem as problem:
        await ack(
            response_action="errors", errors=story_errors(problem.key, language, **problem.values)
        )
        return
    except (ValueError, KeyError):
        logger.warning("story modal with unreadable private_metadata")
        await ack(response_action="errors", errors=story_errors("story.error.round_gone", language))
        return
    try:
        async with services.sessions() as session, session.begin():
            round_ = await get_round(session=session, round_id=where.round_id)
            if round_ is None:
                await ack(
                    response_action="errors",
                    errors=story_errors("story.error.round_gone", language),
                )
                return
            await record_anecdote(
                session=session,
                round_=round_,
                author=author,
                author_user_id=user_id,
                visibility=visibility,
                text=cleaned,
                source_id=str(view.get("id") or "") or None,
                now=services.now(),
            )
            score = await score_of(session=session, round_id=round_.id, respondent=author)
            stories = await stories_by(session=session, round_id=round_.id, author=author)
    except SQLAlchemyError:
        logger.exception("could not store a story")
        await ack(
            response_action="errors", errors=story_errors("story.error.save_failed", language)
        )
        return
    await ack()
    if where.channel_id and where.message_ts:
        await show_answers(
            client,
            channel_id=where.channel_id,
            message_ts=where.message_ts,
            round_=round_,
            language=language,
            score=score,
            stories=stories,
        )
