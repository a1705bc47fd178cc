"""The Slack Web API client trustbot uses everywhere: SLACK_API_URL and 429-aware retries."""

from __future__ import annotations

from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from trustbot.config import Settings

RATE_LIMIT_RETRIES = 5


def create_web_client(settings: Settings, *, retries: bool = True) -> AsyncWebClient:
    """A client for the bot token at SLACK_API_URL.

    With `retries` (what listeners use) it waits out 429s and retries blips with slack_sdk's
    handlers. The outbox sender's client has none: the sender decides, so that a 429 slows the
    whole sender down instead of stalling one send inside the client.
    """
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    handlers = (
        [
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ]
        if retries
        else []
    )
    return AsyncWebClient(
        token=token, base_url=settings.slack_api_url, timeout=15, retry_handlers=handlers
    )
