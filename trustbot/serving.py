"""`serve`: the process that answers Slack and Teams and keeps the weekly rhythm.

Three ways to serve (HTTP in this process, HTTP in N uvicorn workers, Slack's Socket Mode) share
one shape: open the runtime (app.open_runtime), then `serve_beside_rhythm` runs what listens
beside the long-lived background work until stopped, and the runtime closes.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import uvicorn

from trustbot.app import Runtime, open_runtime, open_services
from trustbot.config import Settings
from trustbot.listening import listening_socket
from trustbot.logsetup import configure_logging
from trustbot.scheduler.leader import SingleProcessLock
from trustbot.web import SideServer, create_metrics_app, side_server

logger = logging.getLogger(__name__)
# What stops `serve --socket-mode` cleanly, as uvicorn stops `serve` (Ctrl-C, docker stop...).
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def serve_beside_rhythm(runtime: Runtime, listen: Callable[[], Awaitable[object]]) -> None:
    """Run `listen` (what answers the platforms) with the weekly rhythm beside it.

    The one place where serving starts long-lived background work: the outbox sender and the
    scheduler (Runtime.run_rhythm). When `listen` returns or fails, the rhythm is told to stop
    and awaited before the runtime closes.
    """
    stop = asyncio.Event()
    rhythm = asyncio.create_task(runtime.run_rhythm(stop))
    try:
        await listen()
    finally:
        stop.set()
        await rhythm


@asynccontextmanager
async def side_servers(
    settings: Settings, runtime: Runtime, *, health: bool
) -> AsyncIterator[None]:
    """The servers beside the main one, for the block's length: /metrics on
    TRUSTBOT_METRICS_PORT, and (`health`, in Socket Mode, which has no request URL) /healthz,
    /readyz and /metrics on TRUSTBOT_PORT."""
    apps: list[tuple[Any, int, str]] = []
    if health:
        apps.append((runtime.web_app(), settings.port, "TRUSTBOT_PORT"))
    if settings.metrics_port is not None:
        apps.append(
            (create_metrics_app(runtime.services), settings.metrics_port, "TRUSTBOT_METRICS_PORT")
        )
    sockets = [listening_socket(settings.host, port, name) for _, port, name in apps]
    started: list[tuple[SideServer, asyncio.Task[None]]] = []
    for (app, port, _), sock in zip(apps, sockets, strict=True):
        server = side_server(app, host=settings.host, port=port, log_level=settings.log_level)
        started.append((server, asyncio.create_task(server.serve(sockets=[sock]))))
    try:
        yield
    finally:
        for server, _ in started:
            server.should_exit = True
        await asyncio.gather(*(task for _, task in started), return_exceptions=True)


@asynccontextmanager
async def _one_process(settings: Settings) -> AsyncIterator[None]:
    """On SQLite, refuse to serve beside another trustbot process (one writer file)."""
    single = SingleProcessLock(settings.database_url) if _sqlite(settings) else None
    if single is not None:
        single.acquire()
    try:
        yield
    finally:
        if single is not None:
            single.release()


async def serve_http(settings: Settings) -> None:
    """Serve Slack's request URL and the health checks, and keep the weekly rhythm, until
    stopped (SIGINT/SIGTERM, which uvicorn handles)."""
    configure_logging(settings)
    sock = listening_socket(settings.host, settings.port, "TRUSTBOT_PORT")  # before any work
    with sock:
        async with _one_process(settings), open_runtime(settings) as runtime:
            server = StoppingServer(_uvicorn_config(settings, runtime.web_app()))
            logger.info("trustbot listening on %s", _endpoints(settings))
            async with side_servers(settings, runtime, health=False):
                await serve_beside_rhythm(runtime, lambda: server.serve(sockets=[sock]))


class StoppingServer(uvicorn.Server):
    """uvicorn's server, except that a SIGTERM it shut down for is not raised again after the
    shutdown: `serve` stopped by an orchestrator exits 0 once its work is done (uvicorn raises
    the signal again, and the process ended with 143 as if killed)."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        """Shut down; remember the signal only if it is not SIGTERM."""
        super().handle_exit(sig, frame)
        if sig == signal.SIGTERM and sig in self._captured_signals:
            self._captured_signals.remove(sig)


def _uvicorn_config(settings: Settings, app: Any) -> uvicorn.Config:
    return uvicorn.Config(app, **_uvicorn_options(settings))


def _uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for both ways of serving HTTP: our logging, no access log."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "log_config": None,
        "proxy_headers": True,
        "access_log": False,
    }


def serve_http_workers(settings: Settings, workers: int) -> None:
    """`serve --workers N` on PostgreSQL: N processes share one listening socket.

    uvicorn's supervisor binds the socket, starts the workers and replaces one that dies. Each
    worker opens its own runtime when uvicorn starts it (worker_app); they elect one scheduler
    leader through the advisory lock and all drain the outbox. The schema is checked (or
    migrated, with TRUSTBOT_AUTO_MIGRATE) once, here, before any worker starts.
    """
    configure_logging(settings)
    asyncio.run(_prepare_once(settings))
    logger.info("trustbot starting %d workers on %s", workers, _endpoints(settings))
    uvicorn.run(
        "trustbot.serving:worker_app", factory=True, workers=workers, **_uvicorn_options(settings)
    )


async def _prepare_once(settings: Settings) -> None:
    async with open_services(settings):
        pass


def worker_app() -> WorkerApp:
    """The ASGI app of one `serve --workers` process (uvicorn calls this in the worker)."""
    from trustbot.config import load_settings

    return WorkerApp(load_settings())


class WorkerApp:
    """Opens the runtime at ASGI lifespan start-up, serves beside the weekly rhythm, and closes
    both at shutdown: `serve_http`, for a process uvicorn started."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._runtime: Runtime | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        assert self._runtime is not None, "requests arrive only after lifespan start-up"
        await self._runtime.web_app()(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        async with AsyncExitStack() as stack:
            message = await receive()
            assert message["type"] == "lifespan.startup"
            try:
                configure_logging(self._settings)
                self._runtime = await stack.enter_async_context(open_runtime(self._settings))
            except Exception as error:  # uvicorn logs the message and stops the worker
                reason = (str(error).splitlines() or [type(error).__name__])[0]
                await send({"type": "lifespan.startup.failed", "message": reason})
                return

            async def until_shutdown() -> None:
                await send({"type": "lifespan.startup.complete"})
                while (await receive())["type"] != "lifespan.shutdown":
                    pass

            await serve_beside_rhythm(self._runtime, until_shutdown)
        await send({"type": "lifespan.shutdown.complete"})


def _endpoints(settings: Settings) -> str:
    """Where each enabled platform posts to (Slack over Socket Mode posts nowhere)."""
    base = f"http://{settings.host}:{settings.port}"
    paths = []
    if settings.slack_enabled or not settings.teams_enabled:
        paths.append(f"{base}/slack/events (Slack)")
    if settings.teams_enabled:
        paths.append(f"{base}/api/messages (Teams)")
    return ", ".join(paths)


def _sqlite(settings: Settings) -> bool:
    return settings.database_url.startswith("sqlite")


async def serve_socket_mode(settings: Settings) -> None:
    """Connect to Slack over Socket Mode instead of a public request URL, and keep the weekly
    rhythm; SIGTERM/SIGINT stop."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    configure_logging(settings)
    async with _one_process(settings), open_runtime(settings) as runtime:
        await _serve_socket_mode(settings, runtime, AsyncSocketModeHandler)


async def _serve_socket_mode(settings: Settings, runtime: Runtime, handler_class: Any) -> None:
    assert settings.slack_app_token is not None
    handler = handler_class(
        runtime.slack_app(socket_mode=True), settings.slack_app_token.get_secret_value()
    )
    stop = asyncio.Event()
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
        async with side_servers(settings, runtime, health=True):
            logger.info(
                "trustbot serving /healthz and /readyz on http://%s:%d",
                settings.host,
                settings.port,
            )
            await serve_beside_rhythm(runtime, stop.wait)
        logger.info("trustbot disconnecting from Slack")
    finally:
        for signum in _STOP_SIGNALS:
            loop.remove_signal_handler(signum)
        await handler.close_async()
