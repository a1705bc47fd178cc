"""A local Slack Web API emulator for tests and the demo.

It serves the Web API methods trustbot calls on a loopback port, so that a real
``slack_sdk.web.async_client.AsyncWebClient(token=..., base_url=emulator.base_url)`` can talk
to it. It records every call, keeps the messages and views the bot created, and can be told to
answer the next calls of a method with a rate limit (HTTP 429) or an error.

Built with an ``app_token``, it also plays Slack's side of Socket Mode: ``apps.connections.open``
(authenticated with the app token) hands out a WebSocket URL served by
:class:`trustbot.devtools.socket_mode.SocketModeServer`, and a test pushes envelopes to the
connected app with :meth:`SlackEmulator.send_envelope`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from trustbot.devtools.loopback import bind_loopback_socket
from trustbot.devtools.socket_mode import SocketModeServer

__all__ = [
    "ApiCall",
    "EmulatedUser",
    "LoopbackServer",
    "SlackApiFailure",
    "SlackEmulator",
    "StoredMessage",
]

# Arguments whose form-encoded / query-string value is a JSON document.
_JSON_ARGS = frozenset({"blocks", "attachments", "view", "metadata"})
_MAX_MESSAGE_BLOCKS = 50
_MAX_VIEW_BLOCKS = 100
_MAX_TEXT = 40_000
_FIRST_TS = 1_700_000_000


@dataclass
class EmulatedUser:
    """A workspace member the emulator knows."""

    id: str
    name: str
    real_name: str
    is_bot: bool = False
    deleted: bool = False


@dataclass
class StoredMessage:
    """A message the bot posted (chat.postMessage), updated in place by chat.update."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    user: str  # the bot user id
    thread_ts: str | None = None
    updates: int = 0


@dataclass
class ApiCall:
    """One Web API call the emulator received."""

    method: str
    args: dict[str, Any]
    ok: bool
    http_verb: str
    error: str | None = None
    response: dict[str, Any] = field(default_factory=dict)


class SlackApiFailure(Exception):
    """Raised inside a method handler to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


_Handler = Callable[[dict[str, Any]], dict[str, Any]]


class LoopbackServer:
    """Serves an ASGI app with uvicorn on 127.0.0.1 (a free port) inside the running loop."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._port: int | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (valid after start)."""
        if self._port is None:
            raise RuntimeError("the server has not been started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Bind a free port, then serve until stop(); a no-op while running."""
        if self.running:
            return
        sock = bind_loopback_socket()
        self._port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan="off", access_log=False, loop="none"
        )
        server = uvicorn.Server(config)
        self._server = server
        task = asyncio.create_task(server.serve(sockets=[sock]))
        self._task = task
        deadline = time.monotonic() + 10
        while not server.started:
            if task.done():
                sock.close()
                await task  # re-raises a start-up error
                raise RuntimeError("the server stopped during start-up")
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start within 10 s")
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        """Stop serving (a no-op when not running)."""
        server, task = self._server, self._task
        if server is None or task is None:
            return
        server.should_exit = True
        self._server = None
        self._task = None
        await task

    async def __aenter__(self) -> LoopbackServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


class SlackEmulator:
    """An in-process HTTP server that implements the Slack Web API methods trustbot uses."""

    def __init__(
        self,
        *,
        bot_token: str,
        users: Iterable[EmulatedUser] = (),
        channels: Mapping[str, Iterable[str]] = {},
        usergroups: Mapping[str, Iterable[str]] = {},
        team_id: str = "T0TRUST",
        bot_user_id: str = "UTRUSTBOT",
        page_size: int = 100,
        bot_id: str = "B0TRUSTBOT",
        app_id: str = "A0TRUSTBOT",
        team_domain: str = "trust-emulated",
        include_slackbot: bool = False,
        app_token: str | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.page_size = page_size

        self.users: dict[str, EmulatedUser] = {}
        bot = EmulatedUser(id=bot_user_id, name="trustbot", real_name="trustbot", is_bot=True)
        self.users[bot.id] = bot
        if include_slackbot:
            # Real workspaces list Slackbot with is_bot=False: callers must filter it by id.
            self.users["USLACKBOT"] = EmulatedUser(
                id="USLACKBOT", name="slackbot", real_name="Slackbot"
            )
        for user in users:
            self.users[user.id] = user
        self.channels: dict[str, list[str]] = {c: list(m) for c, m in channels.items()}
        self.usergroups: dict[str, list[str]] = {g: list(m) for g, m in usergroups.items()}

        self.calls: list[ApiCall] = []
        self.messages: list[StoredMessage] = []
        self.ephemerals: list[dict[str, Any]] = []
        self.opened_views: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []

        self._dm_channels: dict[str, str] = {}  # user id -> D channel id
        self._dm_users: dict[str, str] = {}  # D channel id -> user id
        self._views: dict[str, dict[str, Any]] = {}  # view id -> full view object
        self._triggers: dict[str, str | None] = {}  # unused trigger id -> user id
        self._used_triggers: set[str] = set()
        self._response_ids: set[str] = set()
        self._ts_counter = itertools.count(1)
        self._id_counter = itertools.count(1)
        self._rate_limits: dict[str, deque[int]] = defaultdict(deque)
        self._failures: dict[str, deque[str]] = defaultdict(deque)
        self.call_observers: list[Callable[[str], None]] = []
        """Called with the method name as each Web API call arrives (tests watch the bot)."""

        self._handlers: dict[str, _Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "conversations.members": self._conversations_members,
            "conversations.open": self._conversations_open,
            "usergroups.users.list": self._usergroups_users_list,
            "apps.connections.open": self._apps_connections_open,
        }
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["GET", "POST"]),
                Route("/response/{url_id}", self._response_url, methods=["POST"]),
            ]
        )
        self._server = LoopbackServer(self.app)
        self.socket_mode: SocketModeServer | None = (
            SocketModeServer(app_id=app_id) if app_token is not None else None
        )
        """Slack's Socket Mode side; None unless built with an ``app_token``."""

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start serving on 127.0.0.1 (free ports). Calling it again while running is a no-op."""
        await self._server.start()
        if self.socket_mode is not None:
            try:
                await self.socket_mode.start()
            except BaseException:
                await self._server.stop()
                raise

    async def stop(self) -> None:
        """Stop serving (a no-op when not running); Socket Mode connections are closed first."""
        try:
            if self.socket_mode is not None:
                await self.socket_mode.stop()
        finally:
            await self._server.stop()

    async def __aenter__(self) -> SlackEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (valid after start)."""
        return self._server.url

    @property
    def base_url(self) -> str:
        """The Web API base URL (``http://127.0.0.1:PORT/api/``), what SLACK_API_URL is set to."""
        return f"{self.url}/api/"

    # ------------------------------------------------------------------ test helpers

    def dm_channel_for(self, user_id: str) -> str:
        """The D… id of the bot's DM with a user (stable; created on demand)."""
        channel = self._dm_channels.get(user_id)
        if channel is None:
            channel = f"D{next(self._id_counter):08X}"
            self._dm_channels[user_id] = channel
            self._dm_users[channel] = user_id
        return channel

    def messages_in(self, channel: str) -> list[StoredMessage]:
        """Messages the bot posted in a channel (a U… id means the bot's DM with that user)."""
        channel = self._dm_channels.get(channel, channel)
        return [m for m in self.messages if m.channel == channel]

    def message(self, channel: str, ts: str) -> StoredMessage:
        """The stored message with this channel and ts (KeyError when absent)."""
        channel = self._dm_channels.get(channel, channel)
        for m in self.messages:
            if m.channel == channel and m.ts == ts:
                return m
        raise KeyError(f"no message {ts} in {channel}")

    def view(self, view_id: str) -> dict[str, Any]:
        """The full view object (as Slack returns it) of an opened view."""
        return self._views[view_id]

    def new_response_url(self) -> str:
        """A response_url; POSTs to it are recorded in ``responses``."""
        url_id = f"R{next(self._id_counter):08X}"
        self._response_ids.add(url_id)
        return f"{self.url}/response/{url_id}"

    def new_trigger_id(self, user_id: str | None = None) -> str:
        """A trigger_id that views.open accepts once."""
        n = next(self._id_counter)
        trigger_id = f"{n}.{int(self.team_id.encode().hex(), 16) % 10**12}.{n:032x}"
        self._triggers[trigger_id] = user_id
        return trigger_id

    def rate_limit_next(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP 429 and Retry-After."""
        self._rate_limits[method].extend([retry_after] * times)

    def fail_next(self, method: str, error: str, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP 200 ``{"ok": false}``."""
        self._failures[method].extend([error] * times)

    def calls_to(self, method: str) -> list[ApiCall]:
        """The recorded calls of one method, in order."""
        return [c for c in self.calls if c.method == method]

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - the API the brief asks for
        *,
        what: str | None = None,
    ) -> None:
        """Poll ``predicate`` every 10 ms; AssertionError (with a summary) on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.01)
        name = what or getattr(predicate, "__qualname__", repr(predicate))
        recent = ", ".join(f"{c.method}({'ok' if c.ok else c.error})" for c in self.calls[-15:])
        raise AssertionError(
            f"timed out after {timeout} s waiting for {name}; "
            f"{len(self.calls)} API calls (last: {recent or 'none'}), "
            f"{len(self.messages)} messages, {len(self.ephemerals)} ephemerals, "
            f"{len(self.opened_views)} views, {len(self.responses)} response_url posts"
        )

    # ------------------------------------------------------------------ Socket Mode

    def _socket_mode(self) -> SocketModeServer:
        if self.socket_mode is None:
            raise RuntimeError("Socket Mode needs an emulator built with app_token=...")
        return self.socket_mode

    @property
    def socket_connected(self) -> bool:
        """Whether the app holds an open Socket Mode connection."""
        return self.socket_mode is not None and self.socket_mode.connected

    async def wait_for_socket(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Return once the app has connected over Socket Mode; AssertionError on timeout."""
        await self._socket_mode().wait_for_connection(timeout)

    async def send_envelope(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = False,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
        timeout: float = 3.0,  # noqa: ASYNC109 - Slack's own ack deadline
    ) -> dict[str, Any]:
        """Push an ``events_api``/``interactive``/``slash_commands`` envelope to the app.

        Returns the app's acknowledgement (``{"envelope_id": ..., "payload"?: ...}``);
        AssertionError when no app is connected or no ack arrives within ``timeout`` seconds.
        """
        return await self._socket_mode().send_envelope(
            type,
            payload,
            accepts_response_payload=accepts_response_payload,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
            timeout=timeout,
        )

    @property
    def socket_acks(self) -> list[dict[str, Any]]:
        """Every message the app sent over Socket Mode, in order (empty without Socket Mode)."""
        return [] if self.socket_mode is None else self.socket_mode.acks

    # ------------------------------------------------------------------ HTTP layer

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        for observe in self.call_observers:
            observe(method)
        parse_error: str | None = None
        try:
            args = await _parse_args(request)
        except SlackApiFailure as failure:
            args, parse_error = dict(request.query_params), failure.error
        headers = request.headers
        token: str | None = None
        auth_header = headers.get("authorization", "")
        if auth_header.lower().startswith("bearer "):
            token = auth_header[7:].strip()
        if "token" in args:
            token = token or str(args["token"])

        # apps.connections.open takes the app-level token (xapp-), every other method the bot's.
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        status = 200
        extra_headers: dict[str, str] = {}
        body: dict[str, Any]
        if not token:
            body = {"ok": False, "error": "not_authed"}
        elif token != expected:
            body = {"ok": False, "error": "invalid_auth"}
        elif parse_error is not None:
            body = {"ok": False, "error": parse_error}
        elif self._rate_limits.get(method):
            retry_after = self._rate_limits[method].popleft()
            status = 429
            extra_headers["Retry-After"] = str(retry_after)
            body = {"ok": False, "error": "ratelimited"}
        elif self._failures.get(method):
            body = {"ok": False, "error": self._failures[method].popleft()}
        elif method not in self._handlers:
            body = {"ok": False, "error": "unknown_method"}
        else:
            try:
                body = {"ok": True, **self._handlers[method](args)}
            except SlackApiFailure as failure:
                body = {"ok": False, "error": failure.error, **failure.extra}
        recorded_args = {k: v for k, v in args.items() if k != "token"}
        self.calls.append(
            ApiCall(
                method=method,
                args=recorded_args,
                ok=bool(body["ok"]),
                http_verb=request.method,
                error=None if body["ok"] else str(body.get("error")),
                response=body,
            )
        )
        return JSONResponse(body, status_code=status, headers=extra_headers)

    async def _response_url(self, request: Request) -> Response:
        url_id = request.path_params["url_id"]
        if url_id not in self._response_ids:
            return PlainTextResponse("no_service", status_code=404)
        raw = await request.body()
        parsed: Any
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw.decode("utf-8", errors="replace")
        self.responses.append({"url_id": url_id, "body": parsed})
        # Slack answers a response_url POST with the plain text "ok".
        return PlainTextResponse("ok")

    # ------------------------------------------------------------------ helpers

    def _next_ts(self) -> str:
        micros = next(self._ts_counter) * 100
        return f"{_FIRST_TS + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _user_or_fail(self, user_id: Any, error: str = "user_not_found") -> EmulatedUser:
        user = self.users.get(str(user_id)) if user_id else None
        if user is None:
            raise SlackApiFailure(error)
        return user

    def _resolve_channel(self, raw_channel: Any, *, allow_user_id: bool) -> str:
        """A C…/G…/D… id the emulator knows; a U…/W… user id maps to the bot's DM with them."""
        if not raw_channel:
            raise SlackApiFailure("channel_not_found")
        channel = str(raw_channel)
        if channel in self.channels or channel in self._dm_users:
            return channel
        if allow_user_id and channel in self.users:
            user = self.users[channel]
            if user.is_bot:
                raise SlackApiFailure("cannot_dm_bot")
            if user.deleted:
                raise SlackApiFailure("user_disabled")
            return self.dm_channel_for(channel)
        raise SlackApiFailure("channel_not_found")

    def _members_of(self, channel: str) -> list[str]:
        if channel in self._dm_users:
            return [self._dm_users[channel], self.bot_user_id]
        return list(self.channels[channel])

    def _message_content(self, args: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        text = args.get("text")
        blocks = args.get("blocks")
        if not text and not blocks and not args.get("attachments"):
            raise SlackApiFailure("no_text")
        if blocks is not None:
            if not isinstance(blocks, list) or not all(
                isinstance(b, dict) and isinstance(b.get("type"), str) for b in blocks
            ):
                raise SlackApiFailure("invalid_blocks")
            if len(blocks) > _MAX_MESSAGE_BLOCKS:
                raise SlackApiFailure(
                    "invalid_blocks",
                    response_metadata={
                        "messages": [f"[ERROR] no more than {_MAX_MESSAGE_BLOCKS} items allowed"]
                    },
                )
        text_str = "" if text is None else str(text)
        if len(text_str) > _MAX_TEXT:
            raise SlackApiFailure("msg_too_long")
        return text_str, list(blocks or [])

    def _message_json(self, message: StoredMessage) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "text": message.text,
            "user": message.user,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "ts": message.ts,
            "blocks": message.blocks,
        }
        if message.thread_ts:
            body["thread_ts"] = message.thread_ts
        if message.updates:
            body["edited"] = {"user": message.user, "ts": message.ts}
        return body

    def _user_json(self, user: EmulatedUser) -> dict[str, Any]:
        display_name = "" if user.is_bot else user.name
        profile: dict[str, Any] = {
            "real_name": user.real_name,
            "real_name_normalized": user.real_name,
            "display_name": display_name,
            "display_name_normalized": display_name,
            "team": self.team_id,
        }
        if user.id == self.bot_user_id:
            profile["bot_id"] = self.bot_id
        return {
            "id": user.id,
            "team_id": self.team_id,
            "name": user.name,
            "real_name": user.real_name,
            "deleted": user.deleted,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "is_admin": False,
            "is_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "tz": "Europe/London",
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "profile": profile,
            "updated": _FIRST_TS,
        }

    def _page(self, items: list[Any], args: Mapping[str, Any]) -> tuple[list[Any], str]:
        limit = self.page_size
        raw_limit = args.get("limit")
        if raw_limit not in (None, ""):
            try:
                requested = int(raw_limit)
            except (TypeError, ValueError):
                raise SlackApiFailure("invalid_limit") from None
            if requested < 0:
                raise SlackApiFailure("invalid_limit")
            if requested > 0:
                limit = min(requested, self.page_size)
        start = 0
        cursor = args.get("cursor")
        if cursor:
            start = _decode_cursor(str(cursor))
            if start < 0 or start > len(items):
                raise SlackApiFailure("invalid_cursor")
        end = start + limit
        next_cursor = _encode_cursor(end) if end < len(items) else ""
        return items[start:end], next_cursor

    # ------------------------------------------------------------------ methods

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": "Trust Emulated",
            "user": self.users[self.bot_user_id].name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"), allow_user_id=True)
        text, blocks = self._message_content(args)
        thread_ts = args.get("thread_ts")
        message = StoredMessage(
            channel=channel,
            ts=self._next_ts(),
            text=text,
            blocks=blocks,
            user=self.bot_user_id,
            thread_ts=str(thread_ts) if thread_ts else None,
        )
        self.messages.append(message)
        return {"channel": channel, "ts": message.ts, "message": self._message_json(message)}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"), allow_user_id=False)
        ts = str(args.get("ts") or "")
        try:
            message = self.message(channel, ts)
        except KeyError:
            raise SlackApiFailure("message_not_found") from None
        text, blocks = self._message_content(args)
        message.text = text
        if "blocks" in args:
            message.blocks = blocks
        message.updates += 1
        return {
            "channel": channel,
            "ts": message.ts,
            "text": message.text,
            "message": self._message_json(message),
        }

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"), allow_user_id=True)
        user = self._user_or_fail(args.get("user"))
        if user.id not in self._members_of(channel):
            raise SlackApiFailure("user_not_in_channel")
        self._message_content(args)
        self.ephemerals.append(dict(args))
        return {"message_ts": self._next_ts()}

    def _check_view(self, view: Any) -> dict[str, Any]:
        if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
            raise SlackApiFailure("invalid_arguments")
        blocks = view.get("blocks", [])
        if not isinstance(blocks, list) or len(blocks) > _MAX_VIEW_BLOCKS:
            raise SlackApiFailure("invalid_arguments")
        if view["type"] == "modal" and not isinstance(view.get("title"), dict):
            raise SlackApiFailure("invalid_arguments")
        return view

    def _full_view(self, view_id: str, view: dict[str, Any], root: str | None) -> dict[str, Any]:
        view_hash = hashlib.sha1(  # noqa: S324 - an opaque tag, not security
            f"{view_id}:{json.dumps(view, sort_keys=True)}:{time.monotonic_ns()}".encode()
        ).hexdigest()[:24]
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": view["type"],
            "title": view.get("title"),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{view_hash}",
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": root or view_id,
            "previous_view_id": None,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger_id = str(args.get("trigger_id") or "")
        if trigger_id in self._used_triggers:
            raise SlackApiFailure("exchanged_trigger_id")
        if trigger_id not in self._triggers:
            raise SlackApiFailure("invalid_trigger_id")
        view = self._check_view(args.get("view"))
        user_id = self._triggers.pop(trigger_id)
        self._used_triggers.add(trigger_id)
        view_id = f"V{next(self._id_counter):08X}"
        full = self._full_view(view_id, view, None)
        self._views[view_id] = full
        self.opened_views.append(
            {"id": view_id, "trigger_id": trigger_id, "user": user_id, "view": view}
        )
        return {"view": full}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = args.get("view_id")
        if not view_id and args.get("external_id"):
            for candidate in self._views.values():
                if candidate["external_id"] == args["external_id"]:
                    view_id = candidate["id"]
        if not view_id or str(view_id) not in self._views:
            raise SlackApiFailure("not_found")
        view_id = str(view_id)
        old = self._views[view_id]
        if args.get("hash") and args["hash"] != old["hash"]:
            raise SlackApiFailure("hash_conflict")
        view = self._check_view(args.get("view"))
        full = self._full_view(view_id, view, old["root_view_id"])
        self._views[view_id] = full
        for entry in self.opened_views:
            if entry["id"] == view_id:
                entry["view"] = view
                entry["updates"] = int(entry.get("updates", 0)) + 1
        return {"view": full}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"user": self._user_json(self._user_or_fail(args.get("user")))}

    def _users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        members, next_cursor = self._page(list(self.users.values()), args)
        return {
            "members": [self._user_json(u) for u in members],
            "cache_ts": _FIRST_TS,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"), allow_user_id=False)
        members, next_cursor = self._page(self._members_of(channel), args)
        return {"members": members, "response_metadata": {"next_cursor": next_cursor}}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            channel = self._resolve_channel(args["channel"], allow_user_id=False)
            return {"channel": {"id": channel}}
        raw_users = args.get("users")
        if not raw_users:
            raise SlackApiFailure("users_list_not_supplied")
        user_ids = [u.strip() for u in str(raw_users).split(",") if u.strip()]
        if len(user_ids) != 1:
            # Multi-person DMs are not emulated: trustbot only DMs one person at a time.
            raise SlackApiFailure("method_not_supported_for_channel_type")
        user = self._user_or_fail(user_ids[0])
        if user.is_bot:
            raise SlackApiFailure("cannot_dm_bot")
        if user.deleted:
            raise SlackApiFailure("user_disabled")
        already_open = user.id in self._dm_channels
        channel = self.dm_channel_for(user.id)
        body: dict[str, Any] = {"channel": {"id": channel}}
        if already_open:
            body.update({"no_op": True, "already_open": True})
        return body

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": self._socket_mode().issue_url()}

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args.get("usergroup") or "")
        if group not in self.usergroups:
            raise SlackApiFailure("no_such_subteam")
        return {"users": list(self.usergroups[group])}


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        decoded = base64.b64decode(cursor.encode(), validate=True).decode()
        prefix, _, number = decoded.partition(":")
        if prefix != "offset":
            raise ValueError(cursor)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise SlackApiFailure("invalid_cursor") from None


async def _parse_args(request: Request) -> dict[str, Any]:
    """Arguments from the query string, then a JSON or form-encoded body."""
    args: dict[str, Any] = dict(request.query_params)
    raw = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if raw:
        if content_type == "application/json":
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                raise SlackApiFailure("invalid_json")
            args.update(parsed)
        else:
            args.update(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
    for key in _JSON_ARGS:
        value = args.get(key)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                args[key] = json.loads(value)
    return args
