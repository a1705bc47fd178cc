"""The Notifier for Slack: resolves the audience and sends the outbox's messages."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from trustbot.core.catalogue import Language
from trustbot.core.ports import DeliveryError, Person, Prompt, SentMessage
from trustbot.core.reports import TrustReport
from trustbot.delivery.retry_after import rate_limited
from trustbot.slack.blocks.prompt import prompt_fallback_text, render_prompt_blocks
from trustbot.slack.blocks.report import render_digest_messages, report_fallback_text
from trustbot.slack.charts import upload_chart
from trustbot.slack.directory import resolve_audience, teams_of

logger = logging.getLogger(__name__)

# Slack's answers that no retry can change for this recipient.
PERMANENT_ERRORS = frozenset(
    {
        "account_inactive",
        "user_not_found",
        "user_disabled",
        "users_not_found",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "cannot_dm_bot",
        "restricted_action",
        "msg_too_long",
        "invalid_blocks",
        "no_text",
    }
)
# Answers about the app itself: nothing can be sent until an operator acts, so the sender waits
# (a minute) instead of failing every recipient in turn.
APP_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "no_permission",
        "team_access_not_granted",
        "ekm_access_denied",
    }
)
APP_ERROR_PAUSE_S = 60.0


class SlackNotifier:
    """Prompts people in Slack as direct messages; posts digests to leadership channels.

    Its client for messages has no retry handlers of its own: the outbox sender decides how to
    retry, so that a 429 slows the whole sender instead of stalling one send. Reading the
    directory (users.list, conversations.members, usergroups.users.list: Tier 2, about 20 calls a
    minute) goes through `directory`, a client that waits out 429s and retries blips: a large
    workspace takes many pages, and one refused page must not end the prompt run.
    """

    platform = "slack"

    def __init__(
        self,
        client: AsyncWebClient,
        audience: list[str],
        *,
        directory: AsyncWebClient | None = None,
        language: Language,
        timezone: str,
        teams: dict[str, str] | None = None,
        leadership_channels: list[str] | None = None,
    ) -> None:
        self._client = client
        self._directory = directory or client
        self.digest_targets = list(leadership_channels or [])
        self._audience = audience
        self._teams = teams or {}
        self._language: Language = language
        self._timezone = timezone

    async def resolve_audience(self) -> list[Person]:
        """Active humans in the configured audience, with their own time zones."""
        return await resolve_audience(self._directory, self._audience)

    async def resolve_teams(self) -> dict[str, str]:
        """Each person's team under TRUSTBOT_TEAMS, taken when the prompt is queued."""
        return await teams_of(self._directory, self._teams) if self._teams else {}

    async def send_prompt(self, user_id: str, prompt: Prompt, *, reminder: bool) -> SentMessage:
        """Post the prompt (or a reminder carrying it) into the person's DM with the app."""
        return await self._post(
            user_id,
            prompt_fallback_text(prompt.rule, prompt.language),
            render_prompt_blocks(prompt, reminder=reminder),
        )

    async def send_digest(self, channel_id: str, report: TrustReport) -> SentMessage:
        """Post the period's digest into a leadership channel (split to Slack's limits), then
        its trend chart; a refused chart is logged, the digest counts as delivered."""
        messages = render_digest_messages(report, language=self._language, timezone=self._timezone)
        first: SentMessage | None = None
        for blocks in messages:
            sent = await self._post(
                channel_id, report_fallback_text(report, self._language), blocks
            )
            first = first or sent
        assert first is not None
        try:
            await upload_chart(self._client, channel_id, report, self._language)
        except SlackApiError as error:
            logger.warning(
                "the digest went out without its chart: Slack said %s",
                error.response.get("error", "unknown_error"),
            )
        return first

    async def _post(self, channel: str, text: str, blocks: list[dict[str, Any]]) -> SentMessage:
        try:
            response = await self._client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, unfurl_links=False
            )
        except SlackApiError as error:
            raise _delivery_error(error) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise DeliveryError(f"connection: {type(error).__name__}") from None
        return SentMessage(channel_id=str(response["channel"]), message_ts=str(response["ts"]))


def _delivery_error(error: SlackApiError) -> DeliveryError:
    status = int(getattr(error.response, "status_code", 200) or 200)
    reason = (
        str(error.response.get("error", f"http_{status}")) if status < 500 else f"http_{status}"
    )
    if status == 429:
        retry_after = error.response.headers.get("Retry-After")
        return rate_limited(None if retry_after is None else str(retry_after))
    if reason in APP_ERRORS:
        return DeliveryError(reason, retry_after=APP_ERROR_PAUSE_S, pause_all=True)
    return DeliveryError(reason, permanent=reason in PERMANENT_ERRORS)
