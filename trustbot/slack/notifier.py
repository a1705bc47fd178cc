"""The Notifier for Slack: resolves the audience and sends prompts as direct messages."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from trustbot.core.ports import DeliveryError, Prompt, SentMessage
from trustbot.slack.blocks.prompt import prompt_fallback_text, render_prompt_blocks
from trustbot.slack.directory import resolve_audience


class SlackNotifier:
    """Prompts people in Slack through chat.postMessage to their user id (the app's DM)."""

    platform = "slack"

    def __init__(self, client: AsyncWebClient, audience: list[str]) -> None:
        self._client = client
        self._audience = audience

    async def resolve_audience(self) -> list[str]:
        """Active humans in the configured audience."""
        return await resolve_audience(self._client, self._audience)

    async def send_prompt(self, user_id: str, prompt: Prompt) -> SentMessage:
        """Post the prompt into the person's DM with the app."""
        try:
            response = await self._client.chat_postMessage(
                channel=user_id,
                text=prompt_fallback_text(prompt.rule, prompt.language),
                blocks=render_prompt_blocks(prompt),
                unfurl_links=False,
            )
        except SlackApiError as error:
            raise DeliveryError(str(error.response.get("error", "unknown_error"))) from None
        return SentMessage(channel_id=str(response["channel"]), message_ts=str(response["ts"]))
