"""The prompt message a click came from, and the checks that it really is ours."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from trustbot.db.models import Delivery, Round


@dataclass(frozen=True, slots=True)
class PromptMessage:
    """Who clicked, and where the message they clicked in lives."""

    user_id: str
    channel_id: str
    message_ts: str

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> PromptMessage:
        """From a block_actions payload."""
        container = body.get("container") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id", "")
        ts = container.get("message_ts") or (body.get("message") or {}).get("ts", "")
        return cls(user_id=body["user"]["id"], channel_id=channel, message_ts=ts)

    async def explain(self, client: AsyncWebClient, message: str) -> None:
        """Tell only the person who clicked, beside the prompt."""
        await client.chat_postEphemeral(channel=self.channel_id, user=self.user_id, text=message)


async def find_prompt_round(
    *, session: AsyncSession, message: PromptMessage, round_id: int, respondent: str
) -> Round | None:
    """The round, if this message is the prompt of that round delivered to this person."""
    found: Round | None = await session.scalar(
        select(Round)
        .join(Delivery, Delivery.round_id == Round.id)
        .where(
            Round.id == round_id,
            Delivery.platform == "slack",
            Delivery.channel_id == message.channel_id,
            Delivery.message_ts == message.message_ts,
            Delivery.recipient == respondent,
        )
    )
    return found
