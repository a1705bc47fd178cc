"""A local Slack Web API emulator for tests and the demo.

It serves the Web API methods trustbot calls on a loopback port, so that a real
``slack_sdk.web.async_client.AsyncWebClient(token=..., base_url=emulator.base_url)`` can talk
to it. It records every call, keeps the messages, views, App Home views and files the bot
created, and can be told to answer the next calls of a method with a rate limit (HTTP 429), an
error, a server error (5xx) or a dropped connection (:meth:`SlackEmulator.rate_limit_next`,
:meth:`SlackEmulator.fail_next`, :meth:`SlackEmulator.server_error_next`,
:meth:`SlackEmulator.drop_next`).

For benchmarks it can also behave like a loaded Slack, both off by default: token-bucket rate
limits per method and per channel (:meth:`SlackEmulator.limit_rate`), and seeded random 429s and
5xx answers (:meth:`SlackEmulator.inject_random_failures`). Counters (``call_counts``,
``performed_counts``, ``status_counts``, :meth:`SlackEmulator.dm_message_counts`) and indexed
lookups keep it fast with 10,000 users and 10,000+ messages.

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
import math
import mimetypes
import random
import secrets
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl, quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from trustbot.credentials import SLACK_BOT_SCOPES
from trustbot.devtools.loopback import QuickServer, bind_loopback_socket
from trustbot.devtools.socket_mode import SocketModeServer

__all__ = [
    "ApiCall",
    "EmulatedUser",
    "LoopbackServer",
    "SlackApiFailure",
    "SlackEmulator",
    "StoredFile",
    "StoredMessage",
    "tz_label_and_offset",
]

# Arguments whose form-encoded / query-string value is a JSON document.
_JSON_ARGS = frozenset({"blocks", "attachments", "view", "metadata", "files"})
_MAX_ALT_TXT = 1000
_MAX_MESSAGE_BLOCKS = 50
_MAX_VIEW_BLOCKS = 100
_MAX_TEXT = 40_000
# Block Kit's limits per block (https://docs.slack.dev/reference/block-kit/blocks): a longer text
# or more elements and Slack refuses the whole message (invalid_blocks) or view.
_MAX_SECTION_TEXT, _MAX_FIELD_TEXT, _MAX_FIELDS = 3000, 2000, 10
_MAX_HEADER_TEXT = 150
_MAX_CONTEXT_ELEMENTS, _MAX_ACTIONS_ELEMENTS = 10, 25
_MAX_BLOCK_ID = 255
_FIRST_TS = 1_700_000_000
# Slack's tz_label is a long name; zoneinfo knows only abbreviations, some of them ambiguous
# (IST is India's, Ireland's and Israel's; CST is Chicago's and China's), so a label is looked
# up by abbreviation and UTC offset in hours. Any other zone shows its abbreviation.
_TZ_LABELS: dict[tuple[str, float], str] = {
    ("GMT", 0): "Greenwich Mean Time",
    ("UTC", 0): "Coordinated Universal Time",
    ("BST", 1): "British Summer Time",
    ("IST", 1): "Irish Standard Time",
    ("WET", 0): "Western European Time",
    ("WEST", 1): "Western European Summer Time",
    ("CET", 1): "Central European Time",
    ("CEST", 2): "Central European Summer Time",
    ("EET", 2): "Eastern European Time",
    ("EEST", 3): "Eastern European Summer Time",
    ("IST", 2): "Israel Standard Time",
    ("IDT", 3): "Israel Daylight Time",
    ("MSK", 3): "Moscow Time",
    ("IST", 5.5): "India Standard Time",
    ("CST", 8): "China Standard Time",
    ("JST", 9): "Japan Standard Time",
    ("AEST", 10): "Australian Eastern Standard Time",
    ("AEDT", 11): "Australian Eastern Daylight Time",
    ("EST", -5): "Eastern Standard Time",
    ("EDT", -4): "Eastern Daylight Time",
    ("CST", -6): "Central Standard Time",
    ("CDT", -5): "Central Daylight Time",
    ("MST", -7): "Mountain Standard Time",
    ("MDT", -6): "Mountain Daylight Time",
    ("PST", -8): "Pacific Standard Time",
    ("PDT", -7): "Pacific Daylight Time",
}


@dataclass
class EmulatedUser:
    """A workspace member the emulator knows."""

    id: str
    name: str
    real_name: str
    is_bot: bool = False
    deleted: bool = False
    tz: str = "Europe/Copenhagen"
    """An IANA time zone; users.info/users.list derive tz_label and tz_offset from it."""

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{self.id}: unknown time zone {self.tz!r}") from None


def tz_label_and_offset(tz: str, now: datetime) -> tuple[str, int]:
    """Slack's ``tz_label`` and ``tz_offset`` (seconds east of UTC) for a zone at ``now``."""
    local = now.astimezone(ZoneInfo(tz))
    offset = local.utcoffset()
    seconds = int(offset.total_seconds()) if offset is not None else 0
    abbreviation = local.tzname() or ""
    if abbreviation[:1] in ("+", "-") or not abbreviation:
        # zoneinfo has no name for many zones, only "+03": say it as an offset
        sign = "-" if seconds < 0 else "+"
        hours, minutes = divmod(abs(seconds) // 60, 60)
        return f"UTC{sign}{hours:02d}:{minutes:02d}", seconds
    return _TZ_LABELS.get((abbreviation, seconds / 3600), abbreviation), seconds


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
    files: list[str] = field(default_factory=list)
    """Ids of the files this message shares (files.completeUploadExternal), else empty."""


@dataclass
class StoredFile:
    """A file uploaded as slack_sdk's files_upload_v2 does it: files.getUploadURLExternal, the
    bytes POSTed to the upload URL, then files.completeUploadExternal."""

    id: str
    filename: str
    length: int
    """The size declared to files.getUploadURLExternal; the upload must match it."""
    content: bytes | None = None
    """The uploaded bytes; None until they arrive at the upload URL."""
    title: str = ""
    alt_txt: str | None = None
    snippet_type: str | None = None
    highlight_type: str | None = None
    channels: list[str] = field(default_factory=list)
    """The channels it was shared in (a DM as its D… id); empty for a private file."""
    initial_comment: str | None = None
    thread_ts: str | None = None
    message_ts: dict[str, str] = field(default_factory=dict)
    """Channel -> ts of the message that shares the file there."""
    created: int = 0

    @property
    def channel(self) -> str | None:
        """The first channel the file was shared in (None for a private file)."""
        return self.channels[0] if self.channels else None


@dataclass
class ApiCall:
    """One Web API call the emulator received."""

    method: str
    args: dict[str, Any]
    ok: bool
    http_verb: str
    error: str | None = None
    response: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    """The HTTP status of the answer (429 when rate-limited, 5xx for an injected failure, 0
    when the connection was dropped without an answer)."""


class SlackApiFailure(Exception):
    """Raised inside a method handler to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


_Handler = Callable[[dict[str, Any]], dict[str, Any]]
Clock = Callable[[], float]
"""Seconds on a monotonic scale, like :func:`time.monotonic` (the default)."""

# The arguments that name the channel a call acts on, for per-channel rate limits.
_CHANNEL_ARGS = ("channel", "channel_id")
# Float dust: 3 refills of 1/3 s at 3 per second must make a whole token.
_EPSILON = 1e-9


@dataclass
class _TokenBucket:
    """Holds up to ``capacity`` tokens, refilled at ``rate`` per second; a call takes one."""

    rate: float
    capacity: float
    tokens: float
    updated: float

    def wait(self, now: float) -> float:
        """Seconds until a token is available (0.0 when one is), after refilling up to now."""
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
        if self.tokens >= 1 - _EPSILON:
            return 0.0
        return (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens = max(0.0, self.tokens - 1)


@dataclass
class _RandomFailures:
    """inject_random_failures' settings for one method, with its seeded random source."""

    rate_429: float
    rate_5xx: float
    retry_after: int
    rng: random.Random
    statuses: Iterator[int]  # the 5xx statuses, in turn


# What Slack's front end answers with a server error: JSON from the API itself (500), an HTML
# page from the load balancer (502, 503), which slack_sdk cannot parse as JSON.
_SERVER_ERROR_STATUSES = (500, 502, 503)
_SERVER_ERROR_PAGES = {
    502: "<html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>502 Bad Gateway</h1></body></html>",
    503: "<html><head><title>503 Service Unavailable</title></head>"
    "<body><h1>503 Service Unavailable</h1>"
    "<p>Slack is having trouble right now. Please try again.</p></body></html>",
}


@dataclass
class _RateLimit:
    """limit_rate's settings for one method, with its workspace-wide and per-channel buckets."""

    per_second: float
    burst: int
    per_channel_per_second: float | None
    per_channel_burst: int
    workspace: _TokenBucket
    channels: dict[str, _TokenBucket] = field(default_factory=dict)


class _DroppedConnection(Response):
    """Sends a 200's headers, promising a body, then ends without it: the server closes the
    connection, and the client sees it broken mid-answer (uvicorn logs that the app did not
    complete its response)."""

    def __init__(self) -> None:
        super().__init__(status_code=200, headers={"content-length": "64"})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})


class LoopbackServer:
    """Serves an ASGI app with uvicorn on 127.0.0.1 (a free port) inside the running loop."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._server: QuickServer | None = None
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
        server = QuickServer(config)
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
        server.request_exit()
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
        clock: Clock = time.monotonic,
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
        self.clock = clock
        """The monotonic clock of the rate limits (a test injects a fake one)."""

        self.scopes: list[str] = list(SLACK_BOT_SCOPES)
        """The bot token's scopes (the manifest's): the ``x-oauth-scopes`` header of answers."""
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
        """Every message the bot posted, in order; read it, post through the API to add one."""
        self.call_counts: Counter[str] = Counter()
        """Calls received per method, whatever their answer."""
        self.performed_counts: Counter[str] = Counter()
        """Calls per method that were performed and answered ``ok: true``."""
        self.status_counts: Counter[tuple[str, int]] = Counter()
        """Calls per (method, HTTP status), e.g. ``("chat.postMessage", 429)``."""
        self.ephemerals: list[dict[str, Any]] = []
        self.opened_views: list[dict[str, Any]] = []
        self.home_views: dict[str, dict[str, Any]] = {}
        """The App Home view published for each user id (views.publish), as Slack returns it."""
        self.files: dict[str, StoredFile] = {}
        """Files completed with files.completeUploadExternal, by id, in order."""
        self.responses: list[dict[str, Any]] = []

        self._dm_channels: dict[str, str] = {}  # user id -> D channel id
        self._dm_users: dict[str, str] = {}  # D channel id -> user id
        # Indexes over calls, messages and views, so that per-request lookups and a benchmark's
        # counts stay O(1) with 10,000+ messages instead of scanning the lists.
        self._calls_by_method: dict[str, list[ApiCall]] = defaultdict(list)
        self._messages_by_channel: dict[str, list[StoredMessage]] = defaultdict(list)
        self._messages_by_key: dict[tuple[str, str], StoredMessage] = {}  # (channel, ts)
        self._views: dict[str, dict[str, Any]] = {}  # view id -> full view object
        self._views_by_external_id: dict[str, str] = {}  # external id -> view id
        self._opened_by_id: dict[str, dict[str, Any]] = {}  # view id -> opened_views entry
        self._home_users: dict[str, str] = {}  # Home tab view id -> user id
        self._pending_files: dict[str, StoredFile] = {}  # id -> not yet completed
        self._upload_keys: dict[str, str] = {}  # the secret part of an upload URL -> file id
        self._files_by_channel: dict[str, list[StoredFile]] = defaultdict(list)
        self._triggers: dict[str, str | None] = {}  # unused trigger id -> user id
        self._used_triggers: set[str] = set()
        self._response_ids: set[str] = set()
        self._ts_counter = itertools.count(1)
        self._id_counter = itertools.count(1)
        self._rate_limits: dict[str, deque[int]] = defaultdict(deque)
        self._limits: dict[str, _RateLimit] = {}
        self._random_failures: dict[str, _RandomFailures] = {}
        self._failures: dict[str, deque[str]] = defaultdict(deque)
        self._server_errors: dict[str, deque[int]] = defaultdict(deque)
        self._drops: dict[str, int] = defaultdict(int)
        self.call_observers: list[Callable[[str], None]] = []
        """Called with the method name as each Web API call arrives (tests watch the bot)."""

        self._handlers: dict[str, _Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
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
                Route("/upload/v1/{key}", self._upload, methods=["POST"]),
                Route("/files-pri/{team_file}/{name}", self._file_download, methods=["GET"]),
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
        return list(self._messages_by_channel.get(channel, ()))

    def message_count(self, channel: str) -> int:
        """How many messages the bot posted in a channel (a U… id means the DM), in O(1)."""
        channel = self._dm_channels.get(channel, channel)
        return len(self._messages_by_channel.get(channel, ()))

    def message_counts(self) -> dict[str, int]:
        """Messages the bot posted per channel id (only channels with at least one)."""
        return {channel: len(ms) for channel, ms in self._messages_by_channel.items() if ms}

    def dm_message_counts(self) -> dict[str, int]:
        """Messages the bot posted per user id, in its DM with them: a benchmark's duplicates
        (a count above one) and losses (a user missing) show here."""
        counts: dict[str, int] = {}
        for channel, messages in self._messages_by_channel.items():
            user_id = self._dm_users.get(channel)
            if user_id is not None and messages:
                counts[user_id] = len(messages)
        return counts

    def message(self, channel: str, ts: str) -> StoredMessage:
        """The stored message with this channel and ts (KeyError when absent)."""
        channel = self._dm_channels.get(channel, channel)
        try:
            return self._messages_by_key[(channel, ts)]
        except KeyError:
            raise KeyError(f"no message {ts} in {channel}") from None

    def files_in(self, channel: str) -> list[StoredFile]:
        """Files shared in a channel (a U… id means the bot's DM with that user), in order."""
        channel = self._dm_channels.get(channel, channel)
        return list(self._files_by_channel.get(channel, ()))

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

    def limit_rate(
        self,
        method: str,
        *,
        per_second: float,
        burst: int,
        per_channel_per_second: float | None = None,
        per_channel_burst: int = 1,
    ) -> None:
        """Rate-limit ``method`` as Slack does, with token buckets on :attr:`clock`.

        Workspace-wide, ``burst`` calls may arrive at once, then ``per_second`` on average.
        With ``per_channel_per_second``, each channel (``channel`` or ``channel_id`` argument;
        a user id and the D… id of the bot's DM with them count as one) also has its own
        bucket of ``per_channel_burst``: Slack allows chat.postMessage about one message per
        second per channel. A call over either limit is not performed: it gets HTTP 429,
        ``{"ok": false, "error": "ratelimited"}`` and a ``Retry-After`` of the whole seconds
        until both buckets hold a token (at least 1). Calling it again replaces the limit;
        :meth:`clear_rate_limit` removes it.
        """
        if per_second <= 0 or burst < 1:
            raise ValueError("per_second must be positive and burst at least 1")
        if per_channel_per_second is not None and per_channel_per_second <= 0:
            raise ValueError("per_channel_per_second must be positive (or None)")
        if per_channel_burst < 1:
            raise ValueError("per_channel_burst must be at least 1")
        self._limits[method] = _RateLimit(
            per_second=per_second,
            burst=burst,
            per_channel_per_second=per_channel_per_second,
            per_channel_burst=per_channel_burst,
            workspace=_TokenBucket(per_second, burst, burst, self.clock()),
        )

    def clear_rate_limit(self, method: str) -> None:
        """Remove :meth:`limit_rate`'s limit on ``method`` (a no-op without one)."""
        self._limits.pop(method, None)

    def inject_random_failures(
        self,
        method: str,
        *,
        rate_429: float = 0.0,
        rate_5xx: float = 0.0,
        seed: int | None = None,
        retry_after: int = 1,
    ) -> None:
        """Answer calls of ``method`` at random with HTTP 429 or a server error; not performed.

        Each call that gets past the rate limits and :meth:`fail_next` is refused with
        probability ``rate_429`` (``ratelimited``, ``Retry-After: retry_after``) or
        ``rate_5xx``: 500 (JSON ``internal_error``), 502 and 503 (HTML pages, recorded with
        the error ``http_502``/``http_503``) in turn. A ``seed`` makes the sequence
        repeatable. Both rates 0 turn the injection off.
        """
        if not (0 <= rate_429 <= 1 and 0 <= rate_5xx <= 1 and rate_429 + rate_5xx <= 1):
            raise ValueError("rate_429 and rate_5xx must be probabilities that sum to at most 1")
        if retry_after < 0:
            raise ValueError("retry_after must not be negative")
        if rate_429 == 0 and rate_5xx == 0:
            self._random_failures.pop(method, None)
            return
        self._random_failures[method] = _RandomFailures(
            rate_429=rate_429,
            rate_5xx=rate_5xx,
            retry_after=retry_after,
            rng=random.Random(seed),
            statuses=itertools.cycle(_SERVER_ERROR_STATUSES),
        )

    def fail_next(self, method: str, error: str, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP 200 ``{"ok": false}``."""
        self._failures[method].extend([error] * times)

    def server_error_next(self, method: str, status: int = 503, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with a server error, not performed:
        500 as JSON ``internal_error``, 502 and 503 as the load balancer's HTML page (as
        :meth:`inject_random_failures` does)."""
        if status not in _SERVER_ERROR_STATUSES:
            raise ValueError(f"status must be one of {_SERVER_ERROR_STATUSES}")
        self._server_errors[method].extend([status] * times)

    def drop_next(self, method: str, times: int = 1) -> None:
        """Drop the connection of the next ``times`` calls of ``method``, not performed: the
        answer's headers go out, then the connection closes before its body (a client sees a
        broken connection). Recorded with status 0 and the error ``connection_dropped``."""
        if times < 1:
            raise ValueError("times must be at least 1")
        self._drops[method] += times

    def calls_to(self, method: str) -> list[ApiCall]:
        """The recorded calls of one method, in order."""
        return list(self._calls_by_method.get(method, ()))

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
            f"{len(self.opened_views)} views, {len(self.files)} files, "
            f"{len(self.responses)} response_url posts"
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
        if token == self.bot_token:  # as Slack does, on every answer to the bot's token
            extra_headers["x-oauth-scopes"] = ",".join(self.scopes)
        body: dict[str, Any]
        page: str | None = None  # an HTML error page sent instead of the JSON body
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
        elif (wait_seconds := self._over_rate_limit(method, args)) is not None:
            status = 429
            extra_headers["Retry-After"] = str(wait_seconds)
            body = {"ok": False, "error": "ratelimited"}
        elif self._drops.get(method):
            self._drops[method] -= 1
            status, body = 0, {"ok": False, "error": "connection_dropped"}
        elif self._failures.get(method):
            body = {"ok": False, "error": self._failures[method].popleft()}
        elif (
            injected := (
                (self._server_errors[method].popleft(), None)
                if self._server_errors.get(method)
                else self._random_failure(method)
            )
        ) is not None:
            status, retry_after_header = injected
            if status == 429:
                extra_headers["Retry-After"] = str(retry_after_header)
                body = {"ok": False, "error": "ratelimited"}
            elif status in _SERVER_ERROR_PAGES:
                page = _SERVER_ERROR_PAGES[status]
                body = {"ok": False, "error": f"http_{status}"}
            else:
                body = {"ok": False, "error": "internal_error"}
        elif method not in self._handlers:
            body = {"ok": False, "error": "unknown_method"}
        else:
            try:
                body = {"ok": True, **self._handlers[method](args)}
            except SlackApiFailure as failure:
                body = {"ok": False, "error": failure.error, **failure.extra}
        recorded_args = {k: v for k, v in args.items() if k != "token"}
        self._record(
            ApiCall(
                method=method,
                args=recorded_args,
                ok=bool(body["ok"]),
                http_verb=request.method,
                error=None if body["ok"] else str(body.get("error")),
                response={} if page is not None else body,
                status=status,
            )
        )
        if status == 0:
            return _DroppedConnection()
        if page is not None:
            return HTMLResponse(page, status_code=status, headers=extra_headers)
        return JSONResponse(body, status_code=status, headers=extra_headers)

    def _random_failure(self, method: str) -> tuple[int, int | None] | None:
        """None, or the HTTP status (and Retry-After of a 429) inject_random_failures draws."""
        injection = self._random_failures.get(method)
        if injection is None:
            return None
        draw = injection.rng.random()
        if draw < injection.rate_429:
            return 429, injection.retry_after
        if draw < injection.rate_429 + injection.rate_5xx:
            return next(injection.statuses), None
        return None

    def _over_rate_limit(self, method: str, args: Mapping[str, Any]) -> int | None:
        """None when limit_rate lets this call through (it takes its tokens), else the
        Retry-After seconds."""
        limit = self._limits.get(method)
        if limit is None:
            return None
        now = self.clock()
        buckets = [limit.workspace]
        if limit.per_channel_per_second is not None:
            channel = next((str(args[a]) for a in _CHANNEL_ARGS if args.get(a)), None)
            if channel is not None:
                # A DM is one channel whether the bot names it by D… id or by user id.
                key = self._dm_users.get(channel, channel)
                bucket = limit.channels.get(key)
                if bucket is None:
                    bucket = _TokenBucket(
                        limit.per_channel_per_second,
                        limit.per_channel_burst,
                        limit.per_channel_burst,
                        now,
                    )
                    limit.channels[key] = bucket
                buckets.append(bucket)
        wait = max(bucket.wait(now) for bucket in buckets)
        if wait > 0:
            # Slack sends whole seconds, never 0; slack_sdk parses the header with int().
            return max(1, math.ceil(wait - _EPSILON))
        for bucket in buckets:
            bucket.take()
        return None

    def _record(self, call: ApiCall) -> None:
        self.calls.append(call)
        self._calls_by_method[call.method].append(call)
        self.call_counts[call.method] += 1
        self.status_counts[(call.method, call.status)] += 1
        if call.ok:
            self.performed_counts[call.method] += 1

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

    async def _upload(self, request: Request) -> Response:
        """The upload URL files.getUploadURLExternal hands out; the URL is the credential.

        slack_sdk POSTs the raw bytes (application/octet-stream) without a token; Slack also
        takes a multipart/form-data body, whose first file part is the content.
        """
        file_id = self._upload_keys.get(request.path_params["key"])
        stored = self._pending_files.get(file_id) if file_id is not None else None
        if stored is None:
            return PlainTextResponse("not_found", status_code=404)
        raw = await request.body()
        content_type = request.headers.get("content-type", "")
        content = raw
        if content_type.split(";")[0].strip().lower() == "multipart/form-data":
            part = _multipart_file(content_type, raw)
            if part is None:
                return PlainTextResponse("no_file_data", status_code=400)
            content = part
        if len(content) != stored.length:
            # The emulator's own check: the bytes must be the length the ticket declared.
            return PlainTextResponse(
                f"length_mismatch: declared {stored.length}, received {len(content)}",
                status_code=400,
            )
        stored.content = content
        return PlainTextResponse(f"OK - {len(content)}")

    async def _file_download(self, request: Request) -> Response:
        """A completed file's url_private: its bytes, for the bot token only."""
        if request.headers.get("authorization", "") != f"Bearer {self.bot_token}":
            return PlainTextResponse("not_authed", status_code=403)
        _, _, file_id = request.path_params["team_file"].partition("-")
        stored = self.files.get(file_id)
        if stored is None or stored.content is None:
            return PlainTextResponse("file_not_found", status_code=404)
        return Response(stored.content, media_type=self._file_mimetype(stored))

    # ------------------------------------------------------------------ helpers

    def _store_message(self, message: StoredMessage) -> None:
        self.messages.append(message)
        self._messages_by_channel[message.channel].append(message)
        self._messages_by_key[(message.channel, message.ts)] = message

    def _store_view(self, full: dict[str, Any]) -> None:
        """Keep a full view object, indexed by id and by external_id."""
        old = self._views.get(full["id"])
        if old is not None and self._views_by_external_id.get(old["external_id"]) == old["id"]:
            del self._views_by_external_id[old["external_id"]]
        self._views[full["id"]] = full
        if full["external_id"]:
            self._views_by_external_id[full["external_id"]] = full["id"]

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
            problem = block_limit_problem(blocks)
            if problem is not None:
                raise SlackApiFailure(
                    "invalid_blocks", response_metadata={"messages": [f"[ERROR] {problem}"]}
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
        if message.files:
            body["files"] = [self._file_json(self.files[file_id]) for file_id in message.files]
            body["upload"] = True
        return body

    @staticmethod
    def _file_mimetype(stored: StoredFile) -> str:
        if stored.snippet_type:
            return "text/plain"
        return mimetypes.guess_type(stored.filename)[0] or "application/octet-stream"

    def _file_json(self, stored: StoredFile) -> dict[str, Any]:
        """The file object Slack returns (the fields a bot reads; no thumbnails)."""
        _, dot, extension = stored.filename.rpartition(".")
        filetype = stored.snippet_type or (extension.lower() if dot else "") or "binary"
        url = f"{self.url}/files-pri/{self.team_id}-{stored.id}/{quote(stored.filename)}"
        body: dict[str, Any] = {
            "id": stored.id,
            "created": stored.created,
            "timestamp": stored.created,
            "name": stored.filename,
            "title": stored.title,
            "mimetype": self._file_mimetype(stored),
            "filetype": filetype,
            "pretty_type": filetype.upper(),
            "user": self.bot_user_id,
            "user_team": self.team_id,
            "editable": stored.snippet_type is not None,
            "size": stored.length,
            "mode": "snippet" if stored.snippet_type else "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": any(c.startswith("C") for c in stored.channels),
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": url,
            "url_private_download": url,
            "permalink": (
                f"https://{self.team_domain}.slack.com/files/{self.bot_user_id}/{stored.id}/"
                f"{quote(stored.filename)}"
            ),
            "channels": [c for c in stored.channels if c.startswith("C")],
            "groups": [c for c in stored.channels if c.startswith("G")],
            "ims": [c for c in stored.channels if c.startswith("D")],
            "has_rich_preview": False,
            "file_access": "visible",
        }
        if stored.alt_txt:
            body["alt_txt"] = stored.alt_txt
        return body

    def _user_json(
        self, user: EmulatedUser, now: datetime, tz_cache: dict[str, tuple[str, int]]
    ) -> dict[str, Any]:
        """users.info's user object; ``tz_cache`` saves the zone arithmetic within one call."""
        tz_fields = tz_cache.get(user.tz)
        if tz_fields is None:
            tz_fields = tz_cache[user.tz] = tz_label_and_offset(user.tz, now)
        tz_label, tz_offset = tz_fields
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
            "tz": user.tz,
            "tz_label": tz_label,
            "tz_offset": tz_offset,
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
        self._store_message(message)
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
        problem = block_limit_problem(blocks)
        if problem is not None:
            raise SlackApiFailure(
                "invalid_arguments", response_metadata={"messages": [f"[ERROR] {problem}"]}
            )
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
        self._store_view(full)
        entry = {"id": view_id, "trigger_id": trigger_id, "user": user_id, "view": view}
        self.opened_views.append(entry)
        self._opened_by_id[view_id] = entry
        return {"view": full}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = args.get("view_id")
        if not view_id and args.get("external_id"):
            view_id = self._views_by_external_id.get(str(args["external_id"]))
        if not view_id or str(view_id) not in self._views:
            raise SlackApiFailure("not_found")
        view_id = str(view_id)
        old = self._views[view_id]
        if args.get("hash") and args["hash"] != old["hash"]:
            raise SlackApiFailure("hash_conflict")
        view = self._check_view(args.get("view"))
        full = self._full_view(view_id, view, old["root_view_id"])
        self._store_view(full)
        entry = self._opened_by_id.get(view_id)
        if entry is not None:
            entry["view"] = view
            entry["updates"] = int(entry.get("updates", 0)) + 1
        home_user = self._home_users.get(view_id)
        if home_user is not None:
            self.home_views[home_user] = full
        return {"view": full}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._user_or_fail(args.get("user_id"))
        view = self._check_view(args.get("view"))
        if view["type"] != "home":
            raise SlackApiFailure("invalid_arguments")
        old = self.home_views.get(user.id)
        if args.get("hash") and (old is None or args["hash"] != old["hash"]):
            raise SlackApiFailure("hash_conflict")
        # One view per user's Home tab: republishing replaces it under the same id.
        view_id = old["id"] if old is not None else f"V{next(self._id_counter):08X}"
        full = self._full_view(view_id, view, None)
        self._store_view(full)
        self.home_views[user.id] = full
        self._home_users[view_id] = user.id
        return {"view": full}

    def _files_get_upload_url_external(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = args.get("filename")
        raw_length = args.get("length")
        if not filename or raw_length in (None, ""):
            raise SlackApiFailure("missing_argument")
        try:
            length = int(raw_length)
        except (TypeError, ValueError):
            raise SlackApiFailure("invalid_arguments") from None
        if length == 0:
            # Slack's documented cause of missing_argument: a length of 0.
            raise SlackApiFailure("missing_argument")
        if length < 0:
            raise SlackApiFailure("invalid_arguments")
        alt_txt = args.get("alt_txt")
        if alt_txt is not None and len(str(alt_txt)) > _MAX_ALT_TXT:
            raise SlackApiFailure("alt_txt_too_large")
        snippet_type = args.get("snippet_type")
        file_id = f"F{next(self._id_counter):08X}"
        key = secrets.token_urlsafe(16)
        self._pending_files[file_id] = StoredFile(
            id=file_id,
            filename=str(filename),
            length=length,
            alt_txt=None if alt_txt is None else str(alt_txt),
            snippet_type=None if snippet_type is None else str(snippet_type),
        )
        self._upload_keys[key] = file_id
        return {"upload_url": f"{self.url}/upload/v1/{key}", "file_id": file_id}

    def _files_complete_upload_external(self, args: dict[str, Any]) -> dict[str, Any]:
        # Everything is checked before anything changes: a refused call shares nothing.
        items = args.get("files")
        if (
            not isinstance(items, list)
            or not items
            or not all(isinstance(item, dict) and item.get("id") for item in items)
        ):
            raise SlackApiFailure("invalid_arguments")
        completing: list[StoredFile] = []
        for item in items:
            stored = self._pending_files.get(str(item["id"]))
            # Unknown, already completed, listed twice, or its bytes never reached the upload URL.
            if stored is None or stored.content is None or stored in completing:
                raise SlackApiFailure("file_not_found")
            completing.append(stored)

        channels: list[str] = []
        if args.get("channel_id"):
            channels.append(self._resolve_channel(args["channel_id"], allow_user_id=False))
        for raw in str(args.get("channels") or "").split(","):
            if raw.strip():
                channel = self._resolve_channel(raw.strip(), allow_user_id=True)
                if channel not in channels:
                    channels.append(channel)
        thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
        comment = str(args["initial_comment"]) if args.get("initial_comment") else None
        # Sharing needs a channel: a reply goes into exactly one, and a comment without a
        # channel would be lost (the emulator refuses what Slack might drop silently).
        if thread_ts is not None and len(channels) != 1:
            raise SlackApiFailure("invalid_arguments")
        if comment is not None and not channels:
            raise SlackApiFailure("invalid_arguments")
        if comment is not None and len(comment) > _MAX_TEXT:
            raise SlackApiFailure("msg_too_long")
        # Slack ignores blocks when there is an initial_comment.
        blocks: list[dict[str, Any]] = []
        if comment is None and args.get("blocks") is not None:
            _, blocks = self._message_content({"blocks": args["blocks"]})

        created = int(time.time())
        for stored, item in zip(completing, items, strict=True):
            stored.title = str(item.get("title") or stored.filename)
            highlight_type = item.get("highlight_type")
            stored.highlight_type = None if highlight_type is None else str(highlight_type)
            stored.channels = list(channels)
            stored.initial_comment = comment
            stored.thread_ts = thread_ts
            stored.created = created
            del self._pending_files[stored.id]
            self.files[stored.id] = stored
        for channel in channels:
            message = StoredMessage(
                channel=channel,
                ts=self._next_ts(),
                text=comment or "",
                blocks=blocks,
                user=self.bot_user_id,
                thread_ts=thread_ts,
                files=[stored.id for stored in completing],
            )
            self._store_message(message)
            for stored in completing:
                stored.message_ts[channel] = message.ts
                self._files_by_channel[channel].append(stored)
        return {"files": [self._file_json(stored) for stored in completing]}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._user_or_fail(args.get("user"))
        return {"user": self._user_json(user, datetime.now(UTC), {})}

    def _users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        members, next_cursor = self._page(list(self.users.values()), args)
        now = datetime.now(UTC)
        tz_cache: dict[str, tuple[str, int]] = {}
        return {
            "members": [self._user_json(u, now, tz_cache) for u in members],
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


def block_limit_problem(blocks: list[Any]) -> str | None:
    """The first of Block Kit's per-block limits these blocks break (as Slack words it, with a
    JSON pointer), or None."""
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        where = f"json-pointer:/blocks/{index}"
        kind = block.get("type")
        block_id = block.get("block_id")
        if isinstance(block_id, str) and len(block_id) > _MAX_BLOCK_ID:
            return f"must be less than {_MAX_BLOCK_ID + 1} characters [{where}/block_id]"
        if kind == "section":
            too_long = _text_too_long(block.get("text"), _MAX_SECTION_TEXT, f"{where}/text")
            if too_long:
                return too_long
            fields = block.get("fields") or []
            if len(fields) > _MAX_FIELDS:
                return f"no more than {_MAX_FIELDS} items allowed [{where}/fields]"
            for number, field in enumerate(fields):
                too_long = _text_too_long(field, _MAX_FIELD_TEXT, f"{where}/fields/{number}")
                if too_long:
                    return too_long
        elif kind == "header":
            too_long = _text_too_long(block.get("text"), _MAX_HEADER_TEXT, f"{where}/text")
            if too_long:
                return too_long
        elif kind in ("context", "actions"):
            elements = block.get("elements") or []
            limit = _MAX_CONTEXT_ELEMENTS if kind == "context" else _MAX_ACTIONS_ELEMENTS
            if len(elements) > limit:
                return f"no more than {limit} items allowed [{where}/elements]"
            for number, element in enumerate(elements if kind == "context" else []):
                too_long = _text_too_long(element, _MAX_SECTION_TEXT, f"{where}/elements/{number}")
                if too_long:
                    return too_long
    return None


def _text_too_long(text_object: Any, limit: int, where: str) -> str | None:
    text = text_object.get("text") if isinstance(text_object, dict) else None
    if isinstance(text, str) and len(text) > limit:
        return f"must be less than {limit + 1} characters [{where}/text]"
    return None


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


def _multipart_file(content_type: str, body: bytes) -> bytes | None:
    """The content of the first file part (else the first part) of a multipart/form-data body.

    Split by hand on the boundary so that binary content comes back byte for byte.
    """
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        return None
    first: bytes | None = None
    for section in body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if section.startswith(b"--"):  # the closing delimiter
            break
        head, separator, content = section.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            continue
        content = content.removesuffix(b"\r\n")
        if b"filename=" in head.lower():
            return content
        if first is None:
            first = content
    return first


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
