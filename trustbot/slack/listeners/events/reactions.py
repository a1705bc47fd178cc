"""reaction_added / reaction_removed: emoji on a prompt count as engagement."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext

from trustbot.core.interactions import react
from trustbot.core.prompts import Actor, PromptAddress, parse_action_time
from trustbot.core.pulse import InvalidAnswerError
from trustbot.slack.listeners.context import PLATFORM, ListenerDeps, deps_of

logger = logging.getLogger(__name__)


async def handle_reaction(event: dict[str, Any], context: AsyncBoltContext) -> None:
    """bolt acknowledges the event; the bookkeeping runs after."""
    deps = deps_of(context)
    deps.work.spawn(count_reaction(deps, event), what="counting a reaction")


async def count_reaction(deps: ListenerDeps, event: dict[str, Any]) -> None:
    """Count or uncount the reaction when it is on the reactor's own prompt, in event order.

    Nobody to tell when it fails: a reaction has no reply; the operator sees why in the log."""
    item = event.get("item") or {}
    if item.get("type") != "message":
        return
    try:
        event_us = parse_action_time(event.get("event_ts"))
    except InvalidAnswerError as error:
        logger.warning("ignored a reaction event: %s", error)
        return
    await react(
        deps.services,
        actor=Actor(PLATFORM, str(event["user"])),
        address=PromptAddress(str(item["channel"]), str(item["ts"])),
        changes=[(str(event.get("reaction", "")), event.get("type") == "reaction_added")],
        event_us=event_us,
    )
