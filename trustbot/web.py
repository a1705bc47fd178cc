"""The ASGI app: Slack's single request URL plus health checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

SLACK_EVENTS_PATH = "/slack/events"


def create_web_app(slack_app: AsyncApp, engine: AsyncEngine) -> FastAPI:
    """FastAPI serving /slack/events, /healthz and /readyz; disposes the engine on shutdown."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    web = FastAPI(title="trustbot", docs_url=None, redoc_url=None, lifespan=lifespan)
    handler = AsyncSlackRequestHandler(slack_app)

    @web.post(SLACK_EVENTS_PATH)
    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

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
        return JSONResponse({"status": "ready"})

    return web
