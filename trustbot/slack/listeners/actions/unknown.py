"""Any action no other listener claims: acknowledged and logged, never an error to the user."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck

logger = logging.getLogger(__name__)


async def handle_unknown_action(ack: AsyncAck, body: dict[str, Any]) -> None:
    """Ack so Slack shows no error, and leave a trace for the operator: without the action's
    id or value, which (not being trustbot's) could be anything, a person's words included."""
    await ack()
    logger.warning("ignored %d unknown action(s)", len(body.get("actions") or []))
