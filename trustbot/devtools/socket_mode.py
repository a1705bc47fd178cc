"""Slack's side of Socket Mode for the emulator: a WebSocket endpoint on a loopback port.

``apps.connections.open`` hands the app a one-time ``ws://127.0.0.1:PORT/link/?ticket=...``
URL (:meth:`SocketModeServer.issue_url`). On connect the server sends ``{"type": "hello"}``,
then keeps the connection open. A test pushes envelopes with :meth:`SocketModeServer.send_envelope`
(``{"envelope_id", "type", "payload", "accepts_response_payload"}``) and gets back the app's
acknowledgement (``{"envelope_id", "payload"?}``). Served by aiohttp's web server, because
uvicorn cannot serve WebSockets without ``websockets``/``wsproto``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from trustbot.devtools.loopback import bind_loopback_socket

__all__ = ["ENVELOPE_TYPES", "Envelope", "SocketModeServer"]

ENVELOPE_TYPES = frozenset({"events_api", "interactive", "slash_commands"})
_LINK_PATH = "/link/"
_ACK_DEADLINE = 3.0  # Slack retries (or gives up) when an envelope is not acked within 3 s


@dataclass
class Envelope:
    """One envelope sent to the app, and its acknowledgement once it arrived."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    ack: dict[str, Any] | None = None
    acked: asyncio.Event = field(default_factory=asyncio.Event, repr=False)


class SocketModeServer:
    """Serves Socket Mode connections with aiohttp on 127.0.0.1 (a free port)."""

    def __init__(self, *, app_id: str = "A0TRUSTBOT") -> None:
        self.app_id = app_id
        self.envelopes: list[Envelope] = []
        """Every envelope sent, in order (``ack`` is filled in when the app acknowledges)."""
        self.acks: list[dict[str, Any]] = []
        """Every message the app sent, in order (acks, and anything unexpected)."""
        self.connection_count = 0
        """Connections accepted so far (a reconnect counts again)."""
        self._tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self._by_id: dict[str, Envelope] = {}
        self._connected = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:PORT`` (valid after start)."""
        if self._port is None:
            raise RuntimeError("the Socket Mode server has not been started")
        return f"ws://127.0.0.1:{self._port}"

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
        """Bind a free port and serve; a no-op while running."""
        if self._runner is not None:
            return
        app = web.Application()
        app.router.add_get(_LINK_PATH, self._link)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        sock = bind_loopback_socket()
        self._port = int(sock.getsockname()[1])
        try:
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._runner = runner

    async def stop(self) -> None:
        """Close every connection (as Slack does when it goes away) and stop serving."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(message=b"server stopping")
        await runner.cleanup()

    async def __aenter__(self) -> SocketModeServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ test API

    def issue_url(self) -> str:
        """A one-time WebSocket URL, what ``apps.connections.open`` returns."""
        ticket = str(uuid.uuid4())
        self._tickets.add(ticket)
        return f"{self.url}{_LINK_PATH}?ticket={ticket}"

    @property
    def connected(self) -> bool:
        """Whether an app holds an open connection."""
        return any(not ws.closed for ws in self._sockets)

    async def wait_for_connection(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Return once an app is connected; AssertionError after ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout), self._connected:
                await self._connected.wait_for(lambda: self.connected)
        except TimeoutError:
            raise AssertionError(
                f"no Socket Mode connection within {timeout} s "
                f"({len(self._tickets)} URL(s) issued but unused, "
                f"{self.connection_count} connection(s) accepted so far)"
            ) from None

    async def send_envelope(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = False,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
        timeout: float = _ACK_DEADLINE,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """Send one envelope to the newest connection and return the app's acknowledgement.

        AssertionError when nobody is connected or no ack arrives within ``timeout`` seconds
        (by default Slack's own 3 s deadline).
        """
        if type not in ENVELOPE_TYPES:
            raise ValueError(f"unknown envelope type {type!r}; one of {sorted(ENVELOPE_TYPES)}")
        open_sockets = [ws for ws in self._sockets if not ws.closed]
        if not open_sockets:
            raise AssertionError(
                f"cannot send a {type} envelope: no app is connected over Socket Mode "
                f"({self.connection_count} connection(s) accepted so far)"
            )
        envelope = Envelope(
            envelope_id=str(uuid.uuid4()),
            type=type,
            payload=payload,
            accepts_response_payload=accepts_response_payload,
        )
        message: dict[str, Any] = {
            "envelope_id": envelope.envelope_id,
            "type": type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if retry_attempt is not None:
            message["retry_attempt"] = retry_attempt
        if retry_reason is not None:
            message["retry_reason"] = retry_reason
        self.envelopes.append(envelope)
        self._by_id[envelope.envelope_id] = envelope
        started = time.monotonic()
        try:
            await open_sockets[-1].send_str(json.dumps(message))
            async with asyncio.timeout(timeout):
                await envelope.acked.wait()
        except TimeoutError:
            recent = [a.get("envelope_id", a) for a in self.acks[-5:]]
            raise AssertionError(
                f"the app did not acknowledge {type} envelope {envelope.envelope_id} within "
                f"{timeout} s (waited {time.monotonic() - started:.2f} s); "
                f"connected: {self.connected}; last acks: {recent or 'none'}"
            ) from None
        assert envelope.ack is not None
        return envelope.ack

    def acks_for(self, envelope_id: str) -> list[dict[str, Any]]:
        """Every acknowledgement the app sent for one envelope (more than one is a bug)."""
        return [a for a in self.acks if a.get("envelope_id") == envelope_id]

    # ------------------------------------------------------------------ WebSocket

    async def _link(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid or used ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        self.connection_count += 1
        try:
            await ws.send_json(self._hello())
            async with self._connected:
                self._connected.notify_all()
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._received(msg.data)
        finally:
            self._sockets.remove(ws)
        return ws

    def _received(self, raw: str) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            message = {"unparsable": raw}
        if not isinstance(message, dict):
            message = {"unexpected": message}
        self.acks.append(message)
        envelope = self._by_id.get(str(message.get("envelope_id")))
        if envelope is not None and envelope.ack is None:
            envelope.ack = message
            envelope.acked.set()

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": len(self._sockets),
            "debug_info": {
                "host": f"applink-emulated-{secrets.token_hex(4)}",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        }
