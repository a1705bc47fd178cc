"""The composition root: builds the engine, services, Slack app and web app from Settings."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import aiohttp
from fastapi import FastAPI
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from trustbot.concurrency import BackgroundWork
from trustbot.config import Settings
from trustbot.core.ports import Notifier
from trustbot.core.privacy import verify_pseudonym_key
from trustbot.core.rules import load_rules
from trustbot.core.services import Services, utc_now
from trustbot.db.direct import DirectStatements
from trustbot.db.migrate import ensure_current
from trustbot.db.session import (
    create_engine,
    create_session_factory,
    create_write_session_factory,
)
from trustbot.delivery.sender import OutboxSender
from trustbot.metrics import watch_loop_lag
from trustbot.scheduler.jobs import Jobs
from trustbot.scheduler.leader import holder_name, lead_with_advisory_lock, record_lease
from trustbot.scheduler.service import Scheduler
from trustbot.slack.app import create_slack_app
from trustbot.slack.client import create_web_client
from trustbot.slack.front_door import SlackFrontDoor
from trustbot.slack.listeners.context import ListenerDeps
from trustbot.slack.notifier import SlackNotifier
from trustbot.web import create_web_app, mount_slack

if TYPE_CHECKING:
    from microsoft_teams.apps import App

SHUTDOWN_BUDGET_S = 10.0


@dataclass(slots=True)
class Runtime:
    """Everything one trustbot process runs; `start()` before use, `aclose()` after.

    Slack runs when SLACK_BOT_TOKEN is set, Teams when TEAMS_CLIENT_ID is (or in local mode);
    both share the core, the outbox, the scheduler and one web app.
    """

    services: Services
    engine: AsyncEngine
    work: BackgroundWork
    sender: OutboxSender
    jobs: Jobs
    scheduler: Scheduler
    notifiers: dict[str, Notifier]
    web: FastAPI
    # Slack: listeners use `client` (slack_sdk's retry handlers wait out 429s); the outbox's
    # notifier uses `sender_client`, whose retries the sender decides itself.
    client: AsyncWebClient | None = None
    sender_client: AsyncWebClient | None = None
    teams: App | None = None
    lag_watch: asyncio.Task[None] | None = None  # samples the event loop's lag for /metrics

    @property
    def notifier(self) -> SlackNotifier:
        """The Slack notifier (tests and the demo talk to Slack)."""
        notifier = self.notifiers["slack"]
        assert isinstance(notifier, SlackNotifier)
        return notifier

    async def start(self) -> None:
        """Open the one HTTP session Slack calls go through; initialise the Teams app; start
        sampling the event loop's lag."""
        if self.lag_watch is None:
            self.lag_watch = asyncio.create_task(watch_loop_lag(self.services.metrics))
        if self.client is not None and self.client.session is None:
            session = aiohttp.ClientSession()
            self.client.session = session
            if self.sender_client is not None:
                self.sender_client.session = session
        if self.teams is not None:
            await self.teams.initialize()

    async def aclose(self) -> None:
        """Let the after-ack work finish, then close the HTTP session and the database pool."""
        if self.lag_watch is not None:
            self.lag_watch.cancel()
            await asyncio.gather(self.lag_watch, return_exceptions=True)
            self.lag_watch = None
        try:
            await self.work.drain(SHUTDOWN_BUDGET_S)
            await self.scheduler.stop()
        finally:
            if self.client is not None:
                session, self.client.session = self.client.session, None
                if self.sender_client is not None:
                    self.sender_client.session = None
                if session is not None:
                    await session.close()
            if self.services.direct is not None:
                await self.services.direct.close()
            await self.engine.dispose()

    async def run_rhythm(self, stop: asyncio.Event) -> None:
        """The weekly rhythm, until `stop`: this process drains the outbox, and runs the
        scheduler while it leads (always on SQLite; by advisory lock on PostgreSQL)."""
        sending = asyncio.create_task(self.sender.run(stop))
        try:
            if self.engine.dialect.name == "postgresql":
                await lead_with_advisory_lock(
                    self.engine,
                    self.services,
                    stop,
                    on_elected=self.scheduler.start,
                    on_deposed=self.scheduler.stop,
                    retry_s=self.services.settings.leader_retry.total_seconds(),
                )
            else:
                await record_lease(self.services, holder=holder_name(), now=self.services.now())
                await self.scheduler.start()
                await stop.wait()
        finally:
            await self.scheduler.stop()
            stop.set()
            await sending

    def slack_app(self, *, socket_mode: bool = False) -> AsyncApp:
        """The bolt app over this runtime's services."""
        assert self.client is not None, "Slack is not configured (SLACK_BOT_TOKEN)"
        deps = ListenerDeps(services=self.services, work=self.work)
        return create_slack_app(deps, self.client, socket_mode=socket_mode)

    def web_app(self) -> FastAPI:
        """The ASGI app: Slack's request URL, Teams' messaging endpoint, health checks."""
        return self.web


def build_services(
    settings: Settings, engine: AsyncEngine, *, clock: Callable[[], datetime] = utc_now
) -> Services:
    """The core's dependencies; settings must carry TRUSTBOT_PSEUDONYM_KEY."""
    settings.require("TRUSTBOT_PSEUDONYM_KEY")
    assert settings.pseudonym_key is not None
    return Services(
        write_lock=asyncio.Lock() if engine.dialect.name == "sqlite" else None,
        direct=(
            DirectStatements(settings.database_url) if engine.dialect.name == "postgresql" else None
        ),
        settings=settings,
        sessions=create_session_factory(engine),
        writes=create_write_session_factory(engine),
        rules=load_rules(settings.rules_file),
        pseudonym_key=settings.pseudonym_key.get_secret_value(),
        clock=clock,
    )


async def prepare_database(engine: AsyncEngine, services: Services) -> None:
    """Refuse an outdated schema (or migrate when allowed) and a changed pseudonym key."""
    await ensure_current(
        engine, auto_migrate=services.settings.auto_migrate, pseudonym_key=services.pseudonym_key
    )
    async with services.transaction() as session:
        await verify_pseudonym_key(session=session, key=services.pseudonym_key, now=services.now())


def build_runtime(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    teams_token: Any = None,
) -> Runtime:
    """Engine, services, platforms and the web app for one process.

    `teams_token` stands in for Microsoft Entra (tests, the demo): a function of (scope,
    tenant) giving the bot's outbound token.
    """
    settings.require("TRUSTBOT_PSEUDONYM_KEY")
    if not (settings.slack_enabled or settings.teams_enabled):
        settings.require("SLACK_BOT_TOKEN")
    engine = create_engine(settings.database_url)
    services = build_services(settings, engine, clock=clock)
    work = BackgroundWork()
    notifiers: dict[str, Notifier] = {}
    web = create_web_app(engine, services)
    client = sender_client = None
    if settings.slack_enabled:
        client = create_web_client(settings)
        sender_client = create_web_client(settings, retries=False)
        notifiers["slack"] = SlackNotifier(
            sender_client,
            settings.audience,
            directory=client,
            language=settings.language,
            timezone=settings.timezone,
            teams=settings.teams,
            leadership_channels=settings.leadership_channels,
        )
        if settings.slack_signing_secret is not None:
            deps = ListenerDeps(services=services, work=work)
            mount_slack(
                web,
                SlackFrontDoor(
                    create_slack_app(deps, client),
                    signing_secret=settings.slack_signing_secret.get_secret_value(),
                ),
            )
    teams = None
    if settings.teams_enabled:
        from trustbot.teams.app import create_teams_app
        from trustbot.teams.notifier import TeamsNotifier

        teams = create_teams_app(services, web, token_provider=teams_token)
        notifiers["teams"] = TeamsNotifier(
            services,
            teams,
            audience=settings.teams_audience,
            leadership_conversations=settings.teams_leadership_conversations,
            default_service_url=settings.teams_service_url,
            language=settings.language,
            timezone=settings.timezone,
        )
    sender = OutboxSender(services, notifiers)
    jobs = Jobs(services, notifiers, sender)
    return Runtime(
        services=services,
        engine=engine,
        work=work,
        sender=sender,
        jobs=jobs,
        scheduler=Scheduler(services, jobs),
        notifiers=notifiers,
        web=web,
        client=client,
        sender_client=sender_client,
        teams=teams,
    )
