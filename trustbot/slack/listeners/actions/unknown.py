"""Any action no other listener claims: acknowledged and logged, never an error to the user."""

from __future__ import annotations

from logging import Logger
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck


async def handle_unknown_action(ack: AsyncAck, body: dict[str, Any], logger: Logger) -> None:
    """Ack so Slack shows no error, and leave a trace for the operator."""
    await ack()
    action_ids = [str(action.get("action_id", "?"))[:64] for action in body.get("actions") or []]
    logger.warning("ignored an unknown action %s", action_ids)
