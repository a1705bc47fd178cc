"""Local servers for devtools: a listening address on 127.0.0.1 that the OS picks, a uvicorn
server that stops as soon as it is asked, and HTTP clients that are cheap to make."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import ssl

import httpx
import uvicorn

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
