"""reaction_added / reaction_removed: emoji on a prompt count as engagement."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from sqlalchemy.exc import SQLAlchemyError

from trustbot.core.prompts import Actor, PromptAddress, parse_action_time, record_reaction
from trustbot.core.pulse import InvalidAnswerError
from trustbot.db.errors import describe_database_error
from trustbot.slack.listeners.context import ListenerDeps, deps_of
from trustbot.slack.listeners.prompt_message import PLATFORM

logger = logging.getLogger(__name__)


async def handle_reaction(event: dict[str, Any], context: AsyncBoltContext) -> None:
    """bolt acknowledges the event; the bookkeeping runs after."""
    deps = deps_of(context)
    deps.work.spawn(count_reaction(deps, event), what="counting a reaction")


async def count_reaction(deps: ListenerDeps, event: dict[str, Any]) -> None:
    """Count or uncount the reaction when it is on the reactor's own prompt, in event order."""
    item = event.get("item") or {}
    if item.get("type") != "message":
        return
    try:
        event_us = parse_action_time(event.get("event_ts"))
    except InvalidAnswerError as error:
        logger.warning("ignored a reaction event: %s", error)
        return
    try:
        await record_reaction(
            deps.services,
            actor=Actor(PLATFORM, str(event["user"])),
            address=PromptAddress(str(item["channel"]), str(item["ts"])),
            emoji=str(event.get("reaction", "")),
            added=event.get("type") == "reaction_added",
            event_us=event_us,
        )
    except SQLAlchemyError as error:
        # Nobody to tell: a reaction has no reply. The operator sees why it was not counted.
        logger.error("could not record a reaction: %s", describe_database_error(error))
