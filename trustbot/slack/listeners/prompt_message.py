"""A click in a prompt message: who clicked, where, and how to answer them in Slack."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from trustbot.core.catalogue import Language
from trustbot.core.interactions import Reply
from trustbot.core.ports import Prompt
from trustbot.core.prompts import Actor, PromptAddress, PromptState
from trustbot.slack.blocks.prompt import prompt_fallback_text, render_prompt_blocks
from trustbot.slack.listeners.context import PLATFORM, SLACK_COMMANDS

logger = logging.getLogger(__name__)
_NOT_THEIRS = frozenset({"user_not_in_channel", "user_not_found", "channel_not_found"})


@dataclass(frozen=True, slots=True)
class PromptClick:
    """A button click in a message: the person, the message and the button's data."""

    user_id: str
    channel_id: str
    message_ts: str
    value: str
    action_ts: str

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> PromptClick:
        """From a block_actions payload (its shape was checked at the front door)."""
        container = body.get("container") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id", "")
        ts = container.get("message_ts") or (body.get("message") or {}).get("ts", "")
        action = body["actions"][0]
        return cls(
            user_id=str(body["user"]["id"]),
            channel_id=str(channel),
            message_ts=str(ts),
            value=str(action.get("value", "")),
            action_ts=str(action.get("action_ts", "")),
        )

    @property
    def actor(self) -> Actor:
        """The person who clicked."""
        return Actor(PLATFORM, self.user_id)

    @property
    def address(self) -> PromptAddress:
        """The message clicked in."""
        return PromptAddress(self.channel_id, self.message_ts)

    @property
    def lock_key(self) -> str:
        """Clicks in one message are handled one at a time."""
        return f"{self.channel_id}:{self.message_ts}"

    async def tell(self, client: AsyncWebClient, message: str | Reply) -> None:
        """Tell only the person who clicked, beside the prompt; a refusal is logged."""
        if isinstance(message, Reply):
            message = message.text(SLACK_COMMANDS)
        try:
            await client.chat_postEphemeral(
                channel=self.channel_id, user=self.user_id, text=message
            )
        except SlackApiError as error:
            reason = error.response.get("error", "unknown_error")
            # A click from someone who cannot see that channel is forged (Slack sends none):
            # worth a warning, not the operator's alarm.
            level = logging.WARNING if reason in _NOT_THEIRS else logging.ERROR
            logger.log(level, "could not answer a click privately: Slack said %s", reason)


async def show_prompt_state(
    client: AsyncWebClient, click: PromptClick, state: PromptState, language: Language
) -> None:
    """Re-render the prompt message from stored state (answered, closed; never the score)."""
    prompt = Prompt(state.round_id, state.period, state.rule, language)
    try:
        await client.chat_update(
            channel=click.channel_id,
            ts=click.message_ts,
            text=prompt_fallback_text(prompt.rule, language),
            blocks=render_prompt_blocks(
                prompt, answered=state.score is not None, closed=not state.open
            ),
        )
    except SlackApiError as error:
        # The person already has the private confirmation; the message keeps its old look.
        logger.warning(
            "could not mark a prompt answered: Slack said %s",
            error.response.get("error", "unknown_error"),
        )
