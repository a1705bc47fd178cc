"""The prompt message a click came from, and the checks that it really is ours."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from trustbot.core.catalogue import Language
from trustbot.core.ports import Prompt
from trustbot.core.rounds import rule_of
from trustbot.db.models import Delivery, Round
from trustbot.slack.blocks.prompt import prompt_fallback_text, render_prompt_blocks


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

    async def show_answers(
        self,
        client: AsyncWebClient,
        *,
        round_: Round,
        language: Language,
        score: int | None,
        stories: int,
    ) -> None:
        """Re-render the prompt in place with the person's score and stories so far."""
        await show_answers(
            client,
            channel_id=self.channel_id,
            message_ts=self.message_ts,
            round_=round_,
            language=language,
            score=score,
            stories=stories,
        )

    async def explain(self, client: AsyncWebClient, message: str) -> None:
        """Tell only the person who clicked, beside the prompt."""
        await client.chat_postEphemeral(channel=self.channel_id, user=self.user_id, text=message)


async def show_answers(
    client: AsyncWebClient,
    *,
    channel_id: str,
    message_ts: str,
    round_: Round,
    language: Language,
    score: int | None,
    stories: int,
) -> None:
    """Update a prompt message to thank for the score and stories given so far."""
    prompt = Prompt(round_.id, round_.period, rule_of(round_.rule), language)
    await client.chat_update(
        channel=channel_id,
        ts=message_ts,
        text=prompt_fallback_text(prompt.rule, language),
        blocks=render_prompt_blocks(prompt, chosen_score=score, stories_shared=stories),
    )


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
