"""The ASGI app: health checks; Slack's request URL and Teams' endpoint are mounted on it.

Every request goes through `RequestObserver`: it gives the request an id (on each log line
written while it is handled, and in the `X-Request-Id` response header) and records its latency
by route. `/metrics` is never open on the public port: it is served on TRUSTBOT_METRICS_PORT by
its own app (`create_metrics_app`), or on the main port to a bearer of TRUSTBOT_METRICS_TOKEN.
"""

from __future__ import annotations

import contextlib
import hmac
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from trustbot.logsetup import REQUEST_ID
from trustbot.metrics import CONTENT_TYPE
from trustbot.slack.front_door import SlackFrontDoor

if TYPE_CHECKING:
    from trustbot.core.services import Services
    from trustbot.metrics import Metrics

SLACK_EVENTS_PATH = "/slack/events"
METRICS_PATH = "/metrics"


def create_web_app(
    engine: AsyncEngine,
    problems: Callable[[], list[str]] | None = None,
    services: Services | None = None,
) -> FastAPI:
    """FastAPI serving /healthz and /readyz (and /metrics to a bearer of
    TRUSTBOT_METRICS_TOKEN); Slack and Teams mount their endpoints on it.

    `/readyz` is 503 while the database does not answer, or while `problems` names a
    background task that keeps failing (the supervisor's reasons, see supervision.py)."""
    web = FastAPI(title="trustbot", docs_url=None, redoc_url=None, openapi_url=None)

    @web.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @web.get("/readyz")
    async def readyz() -> Response:
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError):
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        failing = problems() if problems is not None else []
        if failing:
            return JSONResponse(
                {"status": "background task failing", "reasons": failing}, status_code=503
            )
        return JSONResponse({"status": "ready"})

    if services is not None:
        token = services.settings.metrics_token
        if token is not None:
            expected = f"Bearer {token.get_secret_value()}".encode()

            @web.get(METRICS_PATH)
            async def metrics(request: Request) -> Response:
                given = request.headers.get("authorization", "").encode()
                if not hmac.compare_digest(given, expected):
                    return JSONResponse(
                        {"error": "a bearer token (TRUSTBOT_METRICS_TOKEN) is needed"},
                        status_code=401,
                        headers={"WWW-Authenticate": "Bearer"},
                    )
                return await _exposition(services)

        web.add_middleware(RequestObserver, metrics=services.metrics)
    return web


def create_metrics_app(services: Services) -> FastAPI:
    """The app of TRUSTBOT_METRICS_PORT: /metrics, open to whoever reaches that port."""
    web = FastAPI(title="trustbot metrics", docs_url=None, redoc_url=None, openapi_url=None)

    @web.get(METRICS_PATH)
    async def metrics() -> Response:
        return await _exposition(services)

    web.add_middleware(RequestObserver, metrics=services.metrics)
    return web


async def _exposition(services: Services) -> Response:
    try:
        body = await services.metrics.exposition(services.sessions, services.now())
    except SQLAlchemyError:  # the rest is still worth scraping; the outbox gauges keep theirs
        body = await services.metrics.exposition(None, services.now())
    return Response(body, media_type=CONTENT_TYPE)


class RequestObserver:
    """ASGI middleware: a request id for the logs, and the latency of each route."""

    def __init__(self, app: Any, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        status = 500
        started = time.perf_counter()

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        with _request_id(request_id):
            try:
                await self.app(scope, receive, sending)
            finally:
                self.metrics.request(
                    scope.get("path", ""),
                    scope.get("method", ""),
                    status,
                    time.perf_counter() - started,
                )


@contextlib.contextmanager
def _request_id(value: str) -> Iterator[None]:
    token = REQUEST_ID.set(value)
    try:
        yield
    finally:
        REQUEST_ID.reset(token)


def mount_slack(web: FastAPI, slack: SlackFrontDoor) -> None:
    """Serve Slack's single request URL (events, commands, interactivity)."""

    @web.post(SLACK_EVENTS_PATH)
    async def slack_events(request: Request) -> Response:
        return await slack.handle(request)


class SideServer(uvicorn.Server):
    """A uvicorn server beside another (the metrics port, or the health port in Socket Mode):
    it leaves the process's signals alone, and stops when told (`should_exit`)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def side_server(app: Any, *, host: str, port: int, log_level: str) -> SideServer:
    """A server for `app` that the caller stops by setting `should_exit`."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=None,
        access_log=False,
        lifespan="off",
    )
    return SideServer(config)
