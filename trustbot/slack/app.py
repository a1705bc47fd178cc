"""create_slack_app: the bolt AsyncApp with trustbot's listeners and one error handler."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.web.async_client import AsyncWebClient

from trustbot.core.services import Services
from trustbot.slack import listeners
from trustbot.slack.listeners.context import SERVICES_KEY

logger = logging.getLogger("trustbot.slack")


class _DropTokenSkippedWarning(logging.Filter):
    """bolt reads SLACK_BOT_TOKEN from the environment even when handed a client with that very
    token, then warns that the token "will be unused": true, harmless, and alarming to read."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


logger.addFilter(_DropTokenSkippedWarning())


def create_slack_app(
    services: Services, client: AsyncWebClient, *, socket_mode: bool = False
) -> AsyncApp:
    """The Slack app: verifies signatures (over HTTP), hands every listener the Services."""
    settings = services.settings
    if socket_mode:  # requests arrive over Slack's authenticated WebSocket, unsigned
        app = AsyncApp(
            client=client,
            logger=logger,
            request_verification_enabled=False,
            raise_error_for_unhandled_request=False,
        )
    else:
        settings.require("SLACK_SIGNING_SECRET")
        assert settings.slack_signing_secret is not None
        app = AsyncApp(
            client=client,
            signing_secret=settings.slack_signing_secret.get_secret_value(),
            logger=logger,
            raise_error_for_unhandled_request=False,
        )

    @app.middleware
    async def provide_services(
        context: AsyncBoltContext, next: Callable[[], Awaitable[None]]
    ) -> None:
        context[SERVICES_KEY] = services
        await next()

    @app.error
    async def report_error(error: Exception, body: dict[str, Any]) -> None:
        kind = body.get("type") or (body.get("event") or {}).get("type") or body.get("command")
        logger.error("unhandled error in a %s listener", kind, exc_info=error)

    listeners.register(app)
    return app
