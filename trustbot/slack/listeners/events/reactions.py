"""reaction_added / reaction_removed: emoji on a prompt count as engagement."""

from __future__ import annotations

from logging import Logger
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext

from trustbot.core.reactions import record_reaction
from trustbot.slack.listeners.context import services_of


async def handle_reaction(event: dict[str, Any], context: AsyncBoltContext, logger: Logger) -> None:
    """Count or uncount the reaction when it is on one of our prompt messages."""
    item = event.get("item") or {}
    if item.get("type") != "message" or not item.get("channel") or not item.get("ts"):
        return
    services = services_of(context)
    async with services.sessions() as session, session.begin():
        counted = await record_reaction(
            session=session,
            platform="slack",
            channel_id=str(item["channel"]),
            message_ts=str(item["ts"]),
            reactor=services.pseudonym(str(event["user"])),
            emoji=str(event.get("reaction", "")),
            added=event.get("type") == "reaction_added",
            now=services.now(),
        )
    if not counted:
        logger.debug("reaction on a message that is not a prompt")
