"""create_slack_app: the bolt AsyncApp with trustbot's listeners and one error handler."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from trustbot.slack import listeners
from trustbot.slack.listeners.context import DEPS_KEY, ListenerDeps
from trustbot.slack.requests import shape_problem

logger = logging.getLogger("trustbot.slack")
# bolt's own lines go to a logger in its namespace, so that the log handler withholds what they
# quote: its "Unhandled request (...)" warning prints the request's callback_id, command or event.
bolt_logger = logging.getLogger("slack_bolt.trustbot")


class _DropTokenSkippedWarning(logging.Filter):
    """bolt reads SLACK_BOT_TOKEN from the environment even when handed a client with that very
    token, then warns that the token "will be unused": true, harmless, and alarming to read."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


bolt_logger.addFilter(_DropTokenSkippedWarning())


class _ProvideDeps(AsyncMiddleware):
    """Puts the listeners' dependencies into each request's context.

    A middleware class, not a decorated function: bolt calls a function middleware through its
    keyword-argument injection, which builds every argument any listener could ask for (the
    payload's options, shortcut, action, view...) on every request, a twentieth of a click's CPU.
    """

    def __init__(self, deps: ListenerDeps) -> None:
        self._deps = deps

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        req.context[DEPS_KEY] = self._deps
        return await next()


def create_slack_app(
    deps: ListenerDeps, client: AsyncWebClient, *, socket_mode: bool = False
) -> AsyncApp:
    """The Slack app; every listener finds its dependencies in the request context.

    Request signatures are checked before bolt sees a request: over HTTP by the front door
    (`slack/front_door.py`), in Socket Mode by Slack's authenticated WebSocket. Listeners run
    inline (`process_before_response`): each acknowledges at once and hands slow work to
    `deps.work`, which avoids bolt's ack polling and its copy of every request.
    """
    app = AsyncApp(
        # The name bolt would give it (its loggers carry it), without its inspect.stack(): that
        # reads the source of every frame on the stack, tens of milliseconds each app.
        name="app.py",
        client=client,
        logger=bolt_logger,
        request_verification_enabled=False,
        process_before_response=True,
        raise_error_for_unhandled_request=False,
    )

    if socket_mode:  # over HTTP the front door has refused malformed requests already

        @app.middleware
        async def refuse_malformed(
            req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[None]]
        ) -> BoltResponse | None:
            problem = shape_problem(req.body)
            if problem is not None:
                logger.warning("refused a Slack request: %s", problem)
                return BoltResponse(status=400, body="bad request")
            await next()
            return None

    app.middleware(_ProvideDeps(deps))

    @app.error
    async def report_error(error: Exception, body: dict[str, Any]) -> None:
        kind = body.get("type") or (body.get("event") or {}).get("type") or body.get("command")
        logger.error("unhandled error in a %s listener", kind, exc_info=error)

    listeners.register(app)
    return app
