"""Any action no other listener claims: acknowledged and logged, never an error to the user."""

from __future__ import annotations

import re
from logging import Logger
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck

_OURS = re.compile(r"[a-z_]{1,32}(?::[0-9]{1,2})?")


async def handle_unknown_action(ack: AsyncAck, body: dict[str, Any], logger: Logger) -> None:
    """Ack so Slack shows no error, and leave a trace for the operator."""
    await ack()
    # Only ids of the shape trustbot gives its own controls: anything else came from elsewhere
    # and is not repeated into the log.
    action_ids = [
        action_id if _OURS.fullmatch(action_id := str(action.get("action_id", ""))) else "?"
        for action in body.get("actions") or []
    ]
    logger.warning("ignored an unknown action %s", action_ids)
