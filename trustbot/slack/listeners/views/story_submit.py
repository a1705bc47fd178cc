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
from sqlalchemy.exc import SQLAlchemyError

from trustbot.core.anecdotes import StoryOutcome, StoryProblem, parse_visibility, record_story
from trustbot.core.people import language_of
from trustbot.core.prompts import Actor
from trustbot.db.errors import describe_database_error
from trustbot.slack.blocks.ids import (
    STORY_TEXT_ACTION,
    STORY_TEXT_BLOCK,
    STORY_VISIBILITY_ACTION,
    STORY_VISIBILITY_BLOCK,
)
from trustbot.slack.blocks.story import StoryContext, render_story_saved_view, story_errors
from trustbot.slack.listeners.context import deps_of
from trustbot.slack.listeners.prompt_message import PLATFORM

logger = logging.getLogger(__name__)


async def handle_story_submit(
    ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
) -> None:
    """Store the story with its round and rule, or keep the modal open with the reason."""
    services = deps_of(context).services
    actor = Actor(PLATFORM, str(body["user"]["id"]))
    language = await language_of(services, actor=actor)
    view = body["view"]
    values = (view.get("state") or {}).get("values") or {}
    story_text = (values.get(STORY_TEXT_BLOCK) or {}).get(STORY_TEXT_ACTION, {}).get("value")
    choice = (values.get(STORY_VISIBILITY_BLOCK) or {}).get(STORY_VISIBILITY_ACTION, {})
    visibility = parse_visibility((choice.get("selected_option") or {}).get("value"))
    problem: str | None = None
    problem_values: dict[str, object] = {}
    try:
        where = StoryContext.decode(str(view.get("private_metadata") or ""))
        outcome = await record_story(
            services,
            actor=actor,
            round_id=where.round_id,
            visibility=visibility,
            text=story_text or "",
            source_id=str(view.get("id") or "") or None,
        )
    except StoryProblem as error:
        problem, problem_values = error.key, error.values
    except (ValueError, KeyError):
        logger.warning("story modal with unreadable private_metadata")
        problem = "story.error.round_gone"
    except SQLAlchemyError as error:
        logger.error("could not store a story: %s", describe_database_error(error))
        problem = "story.error.save_failed"
    else:
        if outcome is StoryOutcome.NO_PROMPT:
            problem = "story.error.round_gone"
        elif outcome is StoryOutcome.CLOSED:
            problem = "story.error.round_closed"
    if problem is not None:
        await ack(
            response_action="errors", errors=story_errors(problem, language, **problem_values)
        )
        return
    await ack(response_action="update", view=render_story_saved_view(visibility, language))
