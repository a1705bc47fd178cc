"""The composition root: builds the engine, services, Slack app and web app from Settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import FastAPI
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from trustbot.config import Settings
from trustbot.core.privacy import verify_pseudonym_key
from trustbot.core.rules import load_rules
from trustbot.core.services import Services, utc_now
from trustbot.db.migrate import ensure_current
from trustbot.db.session import create_engine, create_session_factory
from trustbot.slack.app import create_slack_app
from trustbot.slack.client import create_web_client
from trustbot.slack.notifier import SlackNotifier
from trustbot.web import create_web_app


@dataclass(slots=True)
class Runtime:
    """Everything one trustbot process runs."""

    services: Services
    engine: AsyncEngine
    client: AsyncWebClient
    notifier: SlackNotifier

    def slack_app(self, *, socket_mode: bool = False) -> AsyncApp:
        """The bolt app over this runtime's services."""
        return create_slack_app(self.services, self.client, socket_mode=socket_mode)

    def web_app(self) -> FastAPI:
        """The ASGI app serving Slack's request URL and the health checks."""
        return create_web_app(self.slack_app(), self.engine)


def build_services(
    settings: Settings, engine: AsyncEngine, *, clock: Callable[[], datetime] = utc_now
) -> Services:
    """The core's dependencies; settings must carry TRUSTBOT_PSEUDONYM_KEY."""
    settings.require("TRUSTBOT_PSEUDONYM_KEY")
    assert settings.pseudonym_key is not None
    return Services(
        settings=settings,
        sessions=create_session_factory(engine),
        rules=load_rules(settings.rules_file),
        pseudonym_key=settings.pseudonym_key.get_secret_value(),
        clock=clock,
    )


async def prepare_database(engine: AsyncEngine, services: Services) -> None:
    """Refuse an outdated schema (or migrate when allowed) and a changed pseudonym key."""
    await ensure_current(engine, auto_migrate=services.settings.auto_migrate)
    async with services.sessions() as session, session.begin():
        await verify_pseudonym_key(session=session, key=services.pseudonym_key, now=services.now())


def build_runtime(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> Runtime:
    """Engine, services, Slack client and notifier for one process."""
    settings.require("SLACK_BOT_TOKEN", "TRUSTBOT_PSEUDONYM_KEY")
    engine = create_engine(settings.database_url)
    services = build_services(settings, engine, clock=clock)
    client = create_web_client(settings)
    return Runtime(
        services=services,
        engine=engine,
        client=client,
        notifier=SlackNotifier(client, settings.audience),
    )
