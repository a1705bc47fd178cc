"""The composition root: opens, and closes again, everything a command needs.

Every command, the demo and the tests enter one of three async context managers:
`open_engine` (schema commands), `open_services` (the core over the database: administration
commands) or `open_runtime` (platforms, outbox, scheduler and web app: `serve`, `prompt --now`,
the demo). Each enters what it opens on one exit stack, so a command that fails half-way
closes what was already open, in reverse order, and nothing else builds an engine, a pool or a
client by hand.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
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
from trustbot.core.privacy import Keys, verify_pseudonym_key
from trustbot.core.rules import load_rules
from trustbot.core.services import Services, utc_now
from trustbot.db.database import Database
from trustbot.db.migrate import ensure_current
from trustbot.db.session import create_engine
from trustbot.delivery.sender import OutboxSender
from trustbot.metrics import watch_loop_lag
from trustbot.scheduler.jobs import Jobs
from trustbot.scheduler.leader import (
    HEARTBEAT_S,
    holder_name,
    lead_with_advisory_lock,
    record_lease,
)
from trustbot.scheduler.service import Scheduler
from trustbot.slack.app import create_slack_app
from trustbot.slack.client import create_web_client
from trustbot.slack.front_door import SlackFrontDoor
from trustbot.slack.listeners.context import ListenerDeps
from trustbot.slack.notifier import SlackNotifier
from trustbot.supervision import Supervisor, wait_or_stop
from trustbot.web import create_web_app, mount_slack

if TYPE_CHECKING:
    from microsoft_teams.apps import App

SHUTDOWN_BUDGET_S = 10.0
SENDER_TASK = "the outbox sender"
LEADER_TASK = "the scheduler's leader loop"


@dataclass(slots=True)
class Runtime:
    """Everything one trustbot process runs, as `open_runtime` opened it (and will close it).

    Slack runs when SLACK_BOT_TOKEN is set, Teams when TEAMS_CLIENT_ID is (or in local mode);
    both share the core, the outbox, the scheduler and one web app.
    """

    services: Services
    work: BackgroundWork
    sender: OutboxSender
    jobs: Jobs
    scheduler: Scheduler
    notifiers: dict[str, Notifier]
    web: FastAPI
    supervisor: Supervisor
    # Slack: listeners use `client` (slack_sdk's retry handlers wait out 429s); the outbox's
    # notifier uses `sender_client`, whose retries the sender decides itself.
    client: AsyncWebClient | None = None
    sender_client: AsyncWebClient | None = None
    teams: App | None = None

    @property
    def engine(self) -> AsyncEngine:
        """The database's engine."""
        return self.services.database.engine

    @property
    def notifier(self) -> SlackNotifier:
        """The Slack notifier (tests and the demo talk to Slack)."""
        notifier = self.notifiers["slack"]
        assert isinstance(notifier, SlackNotifier)
        return notifier

    async def run_rhythm(self, stop: asyncio.Event) -> None:
        """The weekly rhythm, until `stop`: this process drains the outbox, and runs the
        scheduler while it leads (always on SQLite; by advisory lock on PostgreSQL). Both
        run under the supervisor: a failure is logged and the task starts again."""
        supervisor = self.supervisor
        sending = supervisor.spawn(SENDER_TASK, lambda: self.sender.run(stop), stop)
        try:
            await supervisor.run(LEADER_TASK, lambda: self._lead(stop), stop)
        finally:
            await self.scheduler.stop()
            stop.set()
            await sending

    async def _lead(self, stop: asyncio.Event) -> None:
        if self.engine.dialect.name == "postgresql":
            await lead_with_advisory_lock(
                self.engine,
                self.services,
                stop,
                on_elected=self.scheduler.start,
                on_deposed=self.scheduler.stop,
                retry_s=self.services.settings.leader_retry.total_seconds(),
            )
            return
        # SQLite: one process (the lock file), always the leader; its lease says it is alive.
        try:
            await record_lease(self.services, holder=holder_name(), now=self.services.now())
            await self.scheduler.start()
            while not await wait_or_stop(stop, HEARTBEAT_S):
                await record_lease(self.services, holder=holder_name(), now=self.services.now())
        finally:
            await self.scheduler.stop()

    def slack_app(self, *, socket_mode: bool = False) -> AsyncApp:
        """The bolt app over this runtime's services."""
        assert self.client is not None, "Slack is not configured (SLACK_BOT_TOKEN)"
        deps = ListenerDeps(services=self.services, work=self.work)
        return create_slack_app(deps, self.client, socket_mode=socket_mode)

    def web_app(self) -> FastAPI:
        """The ASGI app: Slack's request URL, Teams' messaging endpoint, health checks."""
        return self.web


async def _prepare_database(engine: AsyncEngine, services: Services) -> None:
    """Refuse an outdated schema (or migrate when allowed) and a changed pseudonym key."""
    await ensure_current(
        engine, auto_migrate=services.settings.auto_migrate, pseudonym_key=services.keys.key
    )
    async with services.transaction() as session:
        await verify_pseudonym_key(session=session, key=services.keys.key, now=services.now())


@asynccontextmanager
async def open_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """The engine over TRUSTBOT_DATABASE_URL, disposed of (its pool closed) at the end."""
    engine = create_engine(settings.database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _enter_services(
    stack: AsyncExitStack,
    settings: Settings,
    *,
    clock: Callable[[], datetime],
    prepare: bool,
    engine: AsyncEngine | None = None,
) -> tuple[AsyncEngine, Services]:
    if engine is None:
        engine = await stack.enter_async_context(open_engine(settings))
    settings.require("TRUSTBOT_PSEUDONYM_KEY")
    assert settings.pseudonym_key is not None
    database = Database.over(engine, settings.database_url)
    stack.push_async_callback(database.close)
    services = Services(
        settings=settings,
        database=database,
        keys=Keys(settings.pseudonym_key.get_secret_value()),
        rules=load_rules(settings.rules_file),
        clock=clock,
    )
    if prepare:
        await _prepare_database(engine, services)
    return engine, services


@asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    prepare: bool = True,
    engine: AsyncEngine | None = None,
) -> AsyncIterator[Services]:
    """The core's services over the database; TRUSTBOT_PSEUDONYM_KEY is required.

    With `prepare` (what every command does) an outdated schema is refused (or migrated, with
    TRUSTBOT_AUTO_MIGRATE) and a changed pseudonym key too. The engine and PostgreSQL's direct
    pool are closed at the end, however the block ends; an `engine` passed in (tests that share
    one pool between several services) stays its owner's to dispose of.
    """
    async with AsyncExitStack() as stack:
        _, services = await _enter_services(
            stack, settings, clock=clock, prepare=prepare, engine=engine
        )
        yield services


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    teams_token: Any = None,
    supervisor: Supervisor | None = None,
    prepare: bool = True,
) -> AsyncIterator[Runtime]:
    """Engine, services, platforms, outbox, scheduler and the web app of one process.

    Slack runs when SLACK_BOT_TOKEN is set, Teams when TEAMS_CLIENT_ID is (or in local mode).
    `teams_token` stands in for Microsoft Entra (tests, the demo): a function of (scope,
    tenant) giving the bot's outbound token. At the end the after-ack work is given
    SHUTDOWN_BUDGET_S to finish, the scheduler stops, then the HTTP session, the direct pool and
    the engine close.
    """
    settings.require("TRUSTBOT_PSEUDONYM_KEY")
    if not (settings.slack_enabled or settings.teams_enabled):
        settings.require("SLACK_BOT_TOKEN")
    async with AsyncExitStack() as stack:
        engine, services = await _enter_services(stack, settings, clock=clock, prepare=prepare)
        work = BackgroundWork()
        notifiers: dict[str, Notifier] = {}
        supervisor = supervisor or Supervisor()
        web = create_web_app(engine, supervisor.problems, services)
        lag = asyncio.create_task(watch_loop_lag(services.metrics))
        stack.push_async_callback(_stop_task, lag)
        client = sender_client = None
        if settings.slack_enabled:
            client, sender_client = await _enter_slack_clients(stack, settings)
            notifiers["slack"] = _slack_notifier(settings, client, sender_client)
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
            teams, notifiers["teams"] = await _open_teams(services, web, teams_token)
        sender = OutboxSender(services, notifiers)
        jobs = Jobs(services, notifiers, sender)
        scheduler = Scheduler(services, jobs, supervisor=supervisor)
        stack.push_async_callback(scheduler.stop)
        stack.push_async_callback(work.drain, SHUTDOWN_BUDGET_S)
        yield Runtime(
            services,
            work,
            sender,
            jobs,
            scheduler,
            notifiers,
            web,
            supervisor,
            client,
            sender_client,
            teams,
        )


async def _enter_slack_clients(
    stack: AsyncExitStack, settings: Settings
) -> tuple[AsyncWebClient, AsyncWebClient]:
    """The listeners' client and the sender's, over one HTTP session closed at the end."""
    session = await stack.enter_async_context(aiohttp.ClientSession())
    client = create_web_client(settings)
    sender_client = create_web_client(settings, retries=False)
    client.session = sender_client.session = session
    return client, sender_client


def _slack_notifier(
    settings: Settings, client: AsyncWebClient, sender_client: AsyncWebClient
) -> SlackNotifier:
    return SlackNotifier(
        sender_client,
        settings.audience,
        directory=client,
        language=settings.language,
        timezone=settings.timezone,
        teams=settings.teams,
        leadership_channels=settings.leadership_channels,
    )


async def _open_teams(services: Services, web: FastAPI, teams_token: Any) -> tuple[App, Notifier]:
    """The Teams app mounted on `web`, initialised, and its notifier."""
    from trustbot.teams import prepare_teams_sdk

    prepare_teams_sdk()  # before the SDK's first import
    from trustbot.teams.app import create_teams_app
    from trustbot.teams.notifier import TeamsNotifier

    settings = services.settings
    teams = create_teams_app(services, web, token_provider=teams_token)
    await teams.initialize()
    notifier = TeamsNotifier(
        services,
        teams,
        audience=settings.teams_audience,
        leadership_conversations=settings.teams_leadership_conversations,
        default_service_url=settings.teams_service_url,
        language=settings.language,
        timezone=settings.timezone,
    )
    return teams, notifier


async def _stop_task(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
