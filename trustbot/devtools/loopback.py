"""Local servers for devtools: a listening address on 127.0.0.1 that the OS picks, a uvicorn
server that stops as soon as it is asked, one way to host an ASGI app on it (in the running
event loop, or in a thread of its own), and HTTP clients that are cheap to make."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import ssl
import threading
import time
from typing import Self

import httpx
import uvicorn
from starlette.types import ASGIApp

# How often QuickServer looks again while connections close at shutdown.
_SHUTDOWN_POLL_S = 0.005


def bind_loopback_socket() -> socket.socket:
    """A TCP socket bound to 127.0.0.1 on a free port; the caller serves on it or closes it."""
    # proto=IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on accepted sockets
    # whose proto says TCP. Without it a response written in two pieces waits for the client's
    # delayed ACK: on a kept-alive connection (httpx, a shared aiohttp session) every call to a
    # devtools server took ~45 ms instead of ~1 ms.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def http_client(*, timeout: float = 10.0) -> httpx.AsyncClient:
    """An httpx client with httpx's default TLS settings, whose TLS context is made once.

    httpx builds a TLS context for every client it makes, reading the CA bundle: ~35 ms, more
    than most requests a test sends. The drivers make one client per test.
    """
    return httpx.AsyncClient(timeout=timeout, verify=_tls_context())


class BotClient:
    """What a driver that posts to the bot over HTTP shares: its client (its own unless given
    one, then closed with it) and ``async with``."""

    def __init__(self, http: httpx.AsyncClient | None) -> None:
        self._owns_http = http is None
        self._http = http if http is not None else http_client(timeout=10.0)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class QuickServer(uvicorn.Server):
    """uvicorn's server, stopping within milliseconds of `request_exit()`.

    uvicorn looks at `should_exit` every 0.1 s, then waits a fixed 0.1 s for connections to
    close and 0.1 s more per look while any remain: ~0.2-0.3 s per stop, paid by every test
    that starts an emulator and a bot. Here the main loop wakes on an event, and shutdown looks
    again every few milliseconds; open requests are still answered before the server stops
    (within `timeout_graceful_shutdown` when set).
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._exit = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def request_exit(self) -> None:
        """Stop serving; safe to call from any thread."""
        self.should_exit = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed in between
                loop.call_soon_threadsafe(self._exit.set)

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        counter = 0
        # on_tick keeps uvicorn's per-tick duties (the Date header, max requests) and reads
        # should_exit; an exit request wakes the loop at once instead of at the next tick.
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.1):
                    await self._exit.wait()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()  # closes idle ones; a busy one closes after its answer
        try:
            async with asyncio.timeout(self.config.timeout_graceful_shutdown):
                # uvicorn keeps its connections and tasks in plain sets, with nothing to await
                while (  # noqa: ASYNC110
                    self.server_state.connections or self.server_state.tasks
                ) and not self.force_exit:
                    await asyncio.sleep(_SHUTDOWN_POLL_S)
        except TimeoutError:
            for task in self.server_state.tasks:
                task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()


_START_TIMEOUT_S = 10.0
_START_POLL_S = 0.005


class LoopbackServer:
    """Serves an ASGI app with uvicorn (:class:`QuickServer`) on 127.0.0.1, a free port.

    Two ways to run it, one server: :meth:`start`/:meth:`stop` (or ``async with``) serve inside
    the running event loop; :meth:`start_in_thread`/:meth:`stop_thread` serve from a thread with
    its own loop, for an app that a synchronous client calls from the event loop of the code
    under test (the Teams SDK fetches its keys with urllib, which would deadlock a server
    sharing that loop).
    """

    def __init__(self, app: ASGIApp, *, name: str = "devtools server") -> None:
        self.app = app
        self.name = name
        self._server: QuickServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (valid after start)."""
        if self._port is None:
            raise RuntimeError(f"the {self.name} has not been started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def running(self) -> bool:
        if self._task is not None:
            return not self._task.done()
        return self._thread is not None and self._thread.is_alive()

    def _prepare(self, *, graceful: int | None) -> tuple[QuickServer, socket.socket]:
        sock = bind_loopback_socket()
        self._port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            loop="none",
            timeout_graceful_shutdown=graceful,
        )
        self._server = QuickServer(config)
        return self._server, sock

    def _start_problem(self, server: QuickServer, alive: bool, deadline: float) -> str | None:
        """Why start-up failed (None while it may still succeed)."""
        if not alive:
            return f"the {self.name} stopped during start-up"
        if time.monotonic() > deadline:
            server.request_exit()
            return f"the {self.name} did not start within {_START_TIMEOUT_S:g} s"
        return None

    async def start(self) -> None:
        """Bind a free port, then serve in this event loop until stop(); a no-op while running."""
        if self.running:
            return
        server, sock = self._prepare(graceful=None)
        task = self._task = asyncio.create_task(server.serve(sockets=[sock]))
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not server.started:
            problem = self._start_problem(server, not task.done(), deadline)
            if problem is not None:
                if task.done():
                    sock.close()
                    await task  # re-raises a start-up error
                raise RuntimeError(problem)
            await asyncio.sleep(_START_POLL_S)

    async def stop(self) -> None:
        """Stop serving (a no-op when not running)."""
        server, task = self._server, self._task
        self._server = self._task = None
        if server is not None and task is not None:
            server.request_exit()
            await task

    def start_in_thread(self) -> None:
        """Serve from a thread with its own event loop; a no-op while running."""
        if self.running:
            return
        server, sock = self._prepare(graceful=2)
        failure: list[BaseException] = []

        def serve() -> None:
            try:
                asyncio.run(server.serve(sockets=[sock]))
            except BaseException as error:  # reported by start_in_thread(), not lost
                failure.append(error)
            finally:
                sock.close()

        thread = self._thread = threading.Thread(target=serve, name=self.name, daemon=True)
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not server.started:
            problem = self._start_problem(server, thread.is_alive(), deadline)
            if problem is not None:
                self._thread = None
                raise RuntimeError(problem) from (failure[0] if failure else None)
            time.sleep(_START_POLL_S)

    def stop_thread(self) -> None:
        """Stop serving and wait for the thread (a no-op when not running)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None and thread is not None:
            server.request_exit()
            thread.join(timeout=10)

    async def __aenter__(self) -> LoopbackServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
