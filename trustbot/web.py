"""The ASGI app: health checks; Slack's request URL and Teams' endpoint are mounted on it."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from trustbot.slack.front_door import SlackFrontDoor

SLACK_EVENTS_PATH = "/slack/events"


def create_web_app(engine: AsyncEngine, problems: Callable[[], list[str]] | None = None) -> FastAPI:
    """FastAPI serving /healthz and /readyz; Slack and Teams mount their endpoints on it.

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

    return web


def mount_slack(web: FastAPI, slack: SlackFrontDoor) -> None:
    """Serve Slack's single request URL (events, commands, interactivity)."""

    @web.post(SLACK_EVENTS_PATH)
    async def slack_events(request: Request) -> Response:
        return await slack.handle(request)
