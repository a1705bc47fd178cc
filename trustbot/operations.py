"""What the CLI commands do, as async functions over Settings."""

from __future__ import annotations

import asyncio
import csv
import logging
import signal
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from trustbot.app import Runtime, build_runtime, build_services, prepare_database
from trustbot.config import Settings
from trustbot.core.erasure import forget_person
from trustbot.core.export import (
    AGGREGATE_HEADER,
    exported_aggregates,
    exported_answers,
    exported_stories,
)
from trustbot.core.periods import period_of
from trustbot.core.reports import ReportRequest, current_trust_report
from trustbot.core.rounds import count_rounds_before, find_round, rule_for
from trustbot.core.rules import load_rules
from trustbot.db.models import DeliveryKind, DeliveryStatus, Lease
from trustbot.db.session import create_engine, create_session_factory
from trustbot.delivery.outbox import outbox_counts
from trustbot.logsetup import configure_logging
from trustbot.render.text import render_report_text
from trustbot.scheduler.cron import cron_trigger, next_fire_times
from trustbot.scheduler.jobs import fire_period, job_specs_for
from trustbot.scheduler.leader import LEASE, SingleProcessLock
from trustbot.web import SideServer, create_metrics_app, side_server

logger = logging.getLogger(__name__)
# What stops `serve --socket-mode` cleanly, as uvicorn stops `serve` (Ctrl-C, docker stop...).
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def _start(settings: Settings) -> Runtime:
    configure_logging(settings)
    runtime = build_runtime(settings)
    try:
        await prepare_database(runtime.engine, runtime.services)
        await runtime.start()
    except BaseException:
        await runtime.aclose()
        raise
    return runtime


async def serve_http(settings: Settings) -> None:
    """Serve Slack's request URL and the health checks, and keep the weekly rhythm, until
    stopped (SIGINT/SIGTERM, which uvicorn handles)."""
    single = SingleProcessLock(settings.database_url) if _sqlite(settings) else None
    if single is not None:
        single.acquire()
    try:
        runtime = await _start(settings)
        config = uvicorn.Config(
            runtime.web_app(),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            log_config=None,
            proxy_headers=True,
            access_log=False,
        )
        stop = asyncio.Event()
        rhythm = asyncio.create_task(runtime.run_rhythm(stop))
        sides = start_side_servers(settings, runtime, health=False)
        logger.info("trustbot listening on %s", _endpoints(settings))
        try:
            await uvicorn.Server(config).serve()
        finally:
            stop.set()
            await stop_side_servers(sides)
            await rhythm
            await runtime.aclose()
    finally:
        if single is not None:
            single.release()


def start_side_servers(
    settings: Settings, runtime: Runtime, *, health: bool
) -> list[tuple[SideServer, asyncio.Task[None]]]:
    """The servers beside the main one: /metrics on TRUSTBOT_METRICS_PORT, and (`health`, in
    Socket Mode, which has no request URL) /healthz, /readyz and /metrics on TRUSTBOT_PORT."""
    apps: list[tuple[Any, int]] = []
    if health:
        apps.append((runtime.web_app(), settings.port))
    if settings.metrics_port is not None:
        apps.append((create_metrics_app(runtime.services), settings.metrics_port))
    started = []
    for app, port in apps:
        server = side_server(app, host=settings.host, port=port, log_level=settings.log_level)
        started.append((server, asyncio.create_task(server.serve())))
    return started


async def stop_side_servers(started: list[tuple[SideServer, asyncio.Task[None]]]) -> None:
    """Stop what `start_side_servers` started, and wait for it."""
    for server, _ in started:
        server.should_exit = True
    await asyncio.gather(*(task for _, task in started), return_exceptions=True)


def serve_http_workers(settings: Settings, workers: int) -> None:
    """`serve --workers N` on PostgreSQL: N processes share one listening socket.

    uvicorn's supervisor binds the socket, starts the workers and replaces one that dies. Each
    worker builds its own runtime when uvicorn starts it (worker_app); they elect one scheduler
    leader through the advisory lock and all drain the outbox. The schema is checked (or
    migrated, with TRUSTBOT_AUTO_MIGRATE) once, here, before any worker starts.
    """
    configure_logging(settings)
    asyncio.run(_prepare_once(settings))
    logger.info("trustbot starting %d workers on %s", workers, _endpoints(settings))
    uvicorn.run(
        "trustbot.operations:worker_app",
        factory=True,
        workers=workers,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,
        proxy_headers=True,
        access_log=False,
    )


async def _prepare_once(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    try:
        await prepare_database(engine, build_services(settings, engine))
    finally:
        await engine.dispose()


def worker_app() -> WorkerApp:
    """The ASGI app of one `serve --workers` process (uvicorn calls this in the worker)."""
    from trustbot.config import load_settings

    return WorkerApp(load_settings())


class WorkerApp:
    """Builds the runtime at ASGI lifespan start-up, runs the weekly rhythm beside the
    requests, and closes both at shutdown: `serve_http`, for a process uvicorn started."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._runtime: Runtime | None = None
        self._stop = asyncio.Event()
        self._rhythm: asyncio.Task[None] | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        assert self._runtime is not None, "requests arrive only after lifespan start-up"
        await self._runtime.web_app()(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self._runtime = await _start(self._settings)
                except Exception as error:  # uvicorn logs the message and stops the worker
                    reason = (str(error).splitlines() or [type(error).__name__])[0]
                    await send({"type": "lifespan.startup.failed", "message": reason})
                    return
                self._rhythm = asyncio.create_task(self._runtime.run_rhythm(self._stop))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._stop.set()
                if self._rhythm is not None:
                    await self._rhythm
                if self._runtime is not None:
                    await self._runtime.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _endpoints(settings: Settings) -> str:
    """Where each enabled platform posts to (Slack over Socket Mode posts nowhere)."""
    base = f"http://{settings.host}:{settings.port}"
    paths = []
    if settings.slack_enabled or not settings.teams_enabled:
        paths.append(f"{base}/slack/events (Slack)")
    if settings.teams_enabled:
        paths.append(f"{base}/api/messages (Teams)")
    return ", ".join(paths)


def _file_exists(path: str) -> bool:
    return Path(path).is_file()


def _sqlite(settings: Settings) -> bool:
    return settings.database_url.startswith("sqlite")


async def serve_socket_mode(settings: Settings) -> None:
    """Connect to Slack over Socket Mode instead of a public request URL, and keep the weekly
    rhythm; SIGTERM/SIGINT stop."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    single = SingleProcessLock(settings.database_url) if _sqlite(settings) else None
    if single is not None:
        single.acquire()
    try:
        await _serve_socket_mode(settings, AsyncSocketModeHandler)
    finally:
        if single is not None:
            single.release()


async def _serve_socket_mode(settings: Settings, handler_class: Any) -> None:
    runtime = await _start(settings)
    rhythm: asyncio.Task[None] | None = None
    sides: list[tuple[SideServer, asyncio.Task[None]]] = []
    stop = asyncio.Event()
    try:
        assert settings.slack_app_token is not None
        handler = handler_class(
            runtime.slack_app(socket_mode=True), settings.slack_app_token.get_secret_value()
        )
        loop = asyncio.get_running_loop()
        for signum in _STOP_SIGNALS:
            loop.add_signal_handler(signum, stop.set)
        try:
            # Ask for the WebSocket URL up front: a refused app token (or an unreachable
            # SLACK_API_URL) then ends the command with one line, where the client's connect()
            # would log a traceback and retry forever.
            handler.client.wss_uri = await handler.client.issue_new_wss_url()
            await handler.connect_async()
            logger.info("trustbot connected to Slack over Socket Mode")
            rhythm = asyncio.create_task(runtime.run_rhythm(stop))
            sides = start_side_servers(settings, runtime, health=True)
            logger.info(
                "trustbot serving /healthz and /readyz on http://%s:%d",
                settings.host,
                settings.port,
            )
            await stop.wait()
            logger.info("trustbot disconnecting from Slack")
        finally:
            for signum in _STOP_SIGNALS:
                loop.remove_signal_handler(signum)
            await handler.close_async()
    finally:
        stop.set()
        await stop_side_servers(sides)
        if rhythm is not None:
            await rhythm
        await runtime.aclose()


async def prompt_now(settings: Settings) -> str:
    """Open this period's round, queue its prompt for everyone not yet prompted, and send
    through the same outbox and sender the scheduler uses; a summary line."""
    runtime = await _start(settings)
    try:
        summary = await run_prompt_now(runtime)
    finally:
        await runtime.aclose()
    return describe_summary(summary)


@dataclass(frozen=True, slots=True)
class PromptSummary:
    """What `prompt --now` did."""

    period: str
    rule_position: int
    round_opened: bool
    audience: int
    paused: int
    sent: int  # during this run, by this process or another one draining the outbox
    already_sent: int
    failed: int
    last_errors: list[str]
    sent_here: int = 0  # by this process


async def run_prompt_now(runtime: Runtime) -> PromptSummary:
    """Queue this period's prompts (retrying failed ones) and send until none is waiting.

    Any process may send the queued rows (a running `serve` drains the outbox too), so what
    this run sent is counted in the database, not by this process's sender.
    """
    period = runtime.services.current_period()
    before = (await outbox_counts(runtime.services, period=period)).count(DeliveryStatus.SENT)
    per_platform = await runtime.jobs.prompt(now=True)  # one round, queued per platform
    enqueued = per_platform[0]
    stats = await runtime.sender.drain(period=enqueued.period)
    counts = await outbox_counts(runtime.services, period=enqueued.period)
    sent = counts.count(DeliveryStatus.SENT) - (before if enqueued.period == period else 0)
    return PromptSummary(
        period=enqueued.period,
        rule_position=enqueued.rule_position,
        round_opened=any(each.round_opened for each in per_platform),
        audience=sum(each.audience for each in per_platform),
        paused=sum(each.paused for each in per_platform),
        sent=max(sent, stats.sent),
        sent_here=stats.sent,
        already_sent=counts.count(DeliveryStatus.SENT) - max(sent, stats.sent),
        failed=counts.count(DeliveryStatus.FAILED),
        last_errors=counts.last_errors,
    )


def describe_summary(summary: PromptSummary) -> str:
    """A one-line account of a prompt run."""
    head = f"{summary.period}, rule {summary.rule_position}: "
    paused = f"; {summary.paused} paused their prompts" if summary.paused else ""
    if summary.sent == 0 and summary.failed == 0:
        return head + (
            f"nothing new to send; {summary.already_sent} of {summary.audience} people "
            f"already have this week's prompt{paused}."
        )
    line = f"sent {summary.sent} prompts"
    if summary.sent_here != summary.sent:  # a running `serve` (or another run) sent some
        line += f", {summary.sent_here} by this run and the rest by another trustbot process"
    line += f" ({summary.already_sent} already had it{paused}"
    if summary.failed:
        reasons = ", ".join(summary.last_errors)
        line += f"; {summary.failed} failed ({reasons}), retried on the next `prompt --now`"
    return head + line + ")."


async def report_text(settings: Settings, request: ReportRequest) -> str:
    """The trust report rendered for a terminal."""
    engine = create_engine(settings.database_url)
    try:
        services = build_services(settings, engine)
        await prepare_database(engine, services)
        report = await current_trust_report(services, request)
    finally:
        await engine.dispose()
    return render_report_text(report, language=settings.language, timezone=settings.timezone)


async def schedule_text(settings: Settings, *, count: int = 5) -> str:
    """The next fire times of each job in TRUSTBOT_TIMEZONE, and the rule each prompt asks."""
    zone = settings.zone
    now = datetime.now(UTC)
    before, this_week, note = await _rotation_state(settings)
    current = period_of(now, zone)
    rules = load_rules(settings.rules_file)
    lines = [f"Schedules in {settings.timezone} (TRUSTBOT_TIMEZONE); {note}"]
    first_local: datetime | None = None
    for spec in job_specs_for(settings):
        lines.append("")
        lines.append(f"{spec.name:<9}{spec.expression}")
        new_rounds = 0  # each coming prompt run opens a round, but this week's exists already
        trigger = spec.trigger
        if spec.name == "prompt" and settings.delivery_time == "local":
            # The job starts where the time comes first (UTC+14); people see the wall clock.
            first_local = spec.trigger.get_next_fire_time(None, now)
            trigger = cron_trigger(spec.expression, zone)
        for fire in next_fire_times(trigger, now, count):
            local = fire.astimezone(zone)
            when = local.strftime("%a %Y-%m-%d %H:%M %Z")
            if spec.name == "prompt":
                period = fire_period(fire)
                if period == current and this_week:
                    earlier = before
                else:
                    earlier = before + this_week + new_rounds
                    new_rounds += 1
                rule = rule_for(
                    period,
                    rules=rules,
                    earlier_rounds=earlier,
                    first_rule=settings.first_rule,
                    first_week=settings.first_week,
                )
                when += f"  {period}, rule {rule.position}: {rule.text(settings.language)}"
            elif spec.name == "reminder":
                when += f"  (to those who have not answered; at most {settings.max_reminders})"
            elif spec.name == "digest":
                when += "  to " + ", ".join(settings.leadership_channels)
            lines.append(f"  {when}")
    if settings.max_reminders == 0:
        lines += ["", "reminder  off (TRUSTBOT_MAX_REMINDERS=0)"]
    if not settings.leadership_channels:
        lines += ["", "digest    off (no TRUSTBOT_LEADERSHIP_CHANNELS)"]
    if settings.delivery_time == "local":
        lines += [
            "",
            "Prompts reach each person at the scheduled time in their own Slack time zone",
            "(TRUSTBOT_DELIVERY_TIME=local); the times above are those in TRUSTBOT_TIMEZONE.",
        ]
        if first_local is not None:
            first = first_local.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z")
            lines.append(f"The next run starts at {first}, for people at UTC+14.")
    return "\n".join(lines)


async def _rotation_state(settings: Settings) -> tuple[int, int, str]:
    """(rounds opened before this week, whether this week's round is open, a note)."""
    if settings.first_week is not None:
        return (
            0,
            False,
            f"rules rotate weekly from rule {settings.first_rule} in {settings.first_week}",
        )
    if _sqlite(settings) and not _file_exists(make_url(settings.database_url).database or ""):
        return 0, 0, "no database yet: rules shown as if no round had been opened"
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            current = period_of(datetime.now(UTC), settings.zone)
            before = await count_rounds_before(session=session, period=current)
            this_week = await find_round(session=session, period=current)
    except SQLAlchemyError:
        return 0, 0, "no database yet: rules shown as if no round had been opened"
    finally:
        await engine.dispose()
    return before, int(this_week is not None), "rules rotate in order from the last round"


async def status_text(settings: Settings) -> str:
    """The current round, the outbox's counts and last errors, the next runs, the leader."""
    engine = create_engine(settings.database_url)
    try:
        services = build_services(settings, engine)
        await prepare_database(engine, services)
        now = services.now()
        period = services.current_period()
        lines: list[str] = []
        async with services.sessions() as session:
            round_ = await find_round(session=session, period=period)
            lease = await session.get(Lease, LEASE)
        if round_ is None:
            lines.append(f"{period}: no round opened yet")
        else:
            state = "closed" if round_.closed_at else "open"
            lines.append(f"{period}: round {state}, rule {round_.rule.position}")
        for kind in DeliveryKind:
            counts = await outbox_counts(services, period=period, kind=kind)
            if counts.by_status:
                figures = ", ".join(
                    f"{n} {status}" for status, n in sorted(counts.by_status.items())
                )
                lines.append(f"  {kind.value}s: {figures}")
                lines += [f"    failed: {reason}" for reason in counts.last_errors]
        if lease is None:
            lines.append("scheduler: no process has led it yet")
        else:
            age = int((now - lease.heartbeat_at).total_seconds())
            alive = "alive" if age < 60 else "silent"
            lines.append(f"scheduler: led by {lease.holder}, last seen {age} s ago ({alive})")
        lines.append("next runs:")
        for spec in job_specs_for(settings):
            fire = spec.trigger.get_next_fire_time(None, now)
            when = (
                fire.astimezone(settings.zone).strftime("%a %Y-%m-%d %H:%M %Z") if fire else "never"
            )
            lines.append(f"  {spec.name:<9}{when}")
    finally:
        await engine.dispose()
    return "\n".join(lines)


async def forget_text(settings: Settings, user_id: str, *, platform: str) -> str:
    """Erase one person's data (a Slack user id, or a Teams person's Entra object id)."""
    engine = create_engine(settings.database_url)
    try:
        services = build_services(settings, engine)
        await prepare_database(engine, services)
        gone = await forget_person(services, user_id=user_id, platform=platform)
    finally:
        await engine.dispose()
    if not gone.anything:
        kinds = "answers, stories, deliveries, reactions or settings"
        if platform == "teams":
            kinds = "answers, stories, deliveries, reactions, settings or Teams conversations"
        return f"nothing stored for {user_id}: no {kinds} (nothing was removed)"
    chat = f", {gone.conversations} Teams conversations" if platform == "teams" else ""
    return (
        f"forgot {user_id}: {gone.answers} answers, {gone.stories} stories, "
        f"{gone.deliveries} deliveries, {gone.reactions} reactions, {gone.settings} settings"
        f"{chat}; {gone.closed_rounds} closed weeks keep only their aggregates (their other "
        "raw answers, reactions, private stories and deliveries were removed too, so nothing "
        "left can be subtracted from them)"
    )


async def export_files(settings: Settings, out: Path) -> str:
    """Write aggregates.csv, answers.csv and stories.csv into `out`; what was written."""
    engine = create_engine(settings.database_url)
    try:
        services = build_services(settings, engine)
        await prepare_database(engine, services)
        aggregates, shown, exact = await exported_aggregates(services)
        answers = await exported_answers(services, exact)
        stories = await exported_stories(services, shown)
    finally:
        await engine.dispose()
    counts = {
        "aggregates.csv": _write_csv(out / "aggregates.csv", AGGREGATE_HEADER, aggregates),
        "answers.csv": _write_csv(out / "answers.csv", ("period", "rule", "score"), answers),
        "stories.csv": _write_csv(
            out / "stories.csv", ("period", "rule", "shared", "author_user_id", "text"), stories
        ),
    }
    return "\n".join(f"{out / name}: {rows} rows" for name, rows in counts.items())


def _write_csv(path: Path, header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            written += 1
    return written
