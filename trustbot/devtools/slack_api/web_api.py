"""The Web API's front: authentication, argument parsing, faults and rate limits, the call log.

Every ``/api/<method>`` request passes here; a method that is not refused is handed to its API
family's handler (see :class:`trustbot.devtools.emulator.SlackEmulator`).
"""

from __future__ import annotations

import contextlib
import json
import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from trustbot.delivery.pacing import TokenBucket
from trustbot.devtools.faults import DROPPED, CallLog, Fault, FaultInjector
from trustbot.devtools.slack_api.workspace import Handler, SlackApiFailure, Workspace

__all__ = ["ApiCall", "Clock", "WebApi"]

# Arguments whose form-encoded / query-string value is a JSON document.
_JSON_ARGS = frozenset({"blocks", "attachments", "view", "metadata", "files"})
# The arguments that name the channel a call acts on, for per-channel rate limits.
_CHANNEL_ARGS = ("channel", "channel_id")
# Float dust: 3 refills of 1/3 s at 3 per second must make a whole token.
_EPSILON = 1e-9
# Which scripted fault a call meets first, whatever order they were scripted in: a scripted
# 429 (even before limit_rate's buckets), a dropped connection, an error, a server error.
_RANK_RATE_LIMITED, _RANK_DROP, _RANK_ERROR, _RANK_SERVER_ERROR = range(4)

Clock = Callable[[], float]
"""Seconds on a monotonic scale, like :func:`time.monotonic` (the default)."""


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
    workspace: TokenBucket
    channels: dict[str, TokenBucket] = field(default_factory=dict)


class _DroppedConnection(Response):
    """Sends a 200's headers, promising a body, then ends without it: the server closes the
    connection, and the client sees it broken mid-answer (uvicorn logs that the app did not
    complete its response)."""

    def __init__(self) -> None:
        super().__init__(status_code=200, headers={"content-length": "64"})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})


class WebApi:
    """Answers ``/api/<method>``: checks the token, injects faults, calls the handler, logs."""

    def __init__(self, workspace: Workspace, handlers: Mapping[str, Handler], clock: Clock) -> None:
        self.ws = workspace
        self.handlers = dict(handlers)
        self.clock = clock
        """The monotonic clock of the rate limits (a test injects a fake one)."""
        self.log: CallLog[ApiCall] = CallLog(lambda call: call.method)
        self.performed_counts: Counter[str] = Counter()
        """Calls per method that were performed and answered ``ok: true``."""
        self.status_counts: Counter[tuple[str, int]] = Counter()
        """Calls per (method, HTTP status), e.g. ``("chat.postMessage", 429)``."""
        self.call_observers: list[Callable[[str], None]] = []
        """Called with the method name as each Web API call arrives (tests watch the bot)."""
        self.faults = FaultInjector(_SERVER_ERROR_STATUSES)
        self._limits: dict[str, _RateLimit] = {}

    # ------------------------------------------------------------------ what a test asks for

    def rate_limit_next(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP 429 and Retry-After."""
        fault = Fault(429, retry_after=retry_after)
        self.faults.script(method, fault, times, rank=_RANK_RATE_LIMITED)

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
            workspace=TokenBucket(per_second, burst, burst, self.clock()),
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
        self.faults.inject_random(
            method, rate_429=rate_429, rate_5xx=rate_5xx, seed=seed, retry_after=retry_after
        )

    def fail_next(self, method: str, error: str, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP 200 ``{"ok": false}``."""
        self.faults.script(method, Fault(200, error=error), times, rank=_RANK_ERROR)

    def server_error_next(self, method: str, status: int = 503, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with a server error, not performed:
        500 as JSON ``internal_error``, 502 and 503 as the load balancer's HTML page (as
        :meth:`inject_random_failures` does)."""
        if status not in _SERVER_ERROR_STATUSES:
            raise ValueError(f"status must be one of {_SERVER_ERROR_STATUSES}")
        self.faults.script(method, Fault(status), times, rank=_RANK_SERVER_ERROR)

    def drop_next(self, method: str, times: int = 1) -> None:
        """Drop the connection of the next ``times`` calls of ``method``, not performed: the
        answer's headers go out, then the connection closes before its body (a client sees a
        broken connection). Recorded with status 0 and the error ``connection_dropped``."""
        if times < 1:
            raise ValueError("times must be at least 1")
        self.faults.script(method, Fault(DROPPED), times, rank=_RANK_DROP)

    # ------------------------------------------------------------------ HTTP

    async def handle(self, request: Request) -> Response:
        method = request.path_params["method"]
        for observe in self.call_observers:
            observe(method)
        parse_error: str | None = None
        try:
            args = await _parse_args(request)
        except SlackApiFailure as failure:
            args, parse_error = dict(request.query_params), failure.error
        token: str | None = None
        auth_header = request.headers.get("authorization", "")
        if auth_header.lower().startswith("bearer "):
            token = auth_header[7:].strip()
        if "token" in args:
            token = token or str(args["token"])

        # apps.connections.open takes the app-level token (xapp-), every other method the bot's.
        expected = self.ws.app_token if method == "apps.connections.open" else self.ws.bot_token
        status, headers = 200, dict[str, str]()
        page: str | None = None  # an HTML error page sent instead of the JSON body
        scopes = {"x-oauth-scopes": ",".join(self.ws.scopes)} if token == self.ws.bot_token else {}
        body: dict[str, Any]
        if not token:
            body = {"ok": False, "error": "not_authed"}
        elif token != expected:
            body = {"ok": False, "error": "invalid_auth"}
        elif parse_error is not None:
            body = {"ok": False, "error": parse_error}
        elif (fault := self._fault(method, args)) is not None:
            status, body, headers, page = _fault_answer(fault)
        elif method not in self.handlers:
            body = {"ok": False, "error": "unknown_method"}
        else:
            try:
                body = {"ok": True, **self.handlers[method](args)}
            except SlackApiFailure as failure:
                body = {"ok": False, "error": failure.error, **failure.extra}
        self._record(
            ApiCall(
                method=method,
                args={k: v for k, v in args.items() if k != "token"},
                ok=bool(body["ok"]),
                http_verb=request.method,
                error=None if body["ok"] else str(body.get("error")),
                response={} if page is not None else body,
                status=status,
            )
        )
        if status == DROPPED:
            return _DroppedConnection()
        headers = {**headers, **scopes}  # as Slack does, on every answer to the bot's token
        if page is not None:
            return HTMLResponse(page, status_code=status, headers=headers)
        return JSONResponse(body, status_code=status, headers=headers)

    def _fault(self, method: str, args: Mapping[str, Any]) -> Fault | None:
        """The fault that refuses this call: a scripted 429, limit_rate's buckets, any other
        scripted fault, then a random one; None lets it through."""
        faults = self.faults
        fault = faults.scripted(method, max_rank=_RANK_RATE_LIMITED)
        if fault is None and (wait := self._over_rate_limit(method, args)) is not None:
            fault = Fault(429, retry_after=wait)
        return fault or faults.scripted(method) or faults.drawn(method)

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
                key = self.ws.dm_users.get(channel, channel)
                bucket = limit.channels.get(key)
                if bucket is None:
                    bucket = TokenBucket(
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
        self.log.record(call)
        self.status_counts[(call.method, call.status)] += 1
        if call.ok:
            self.performed_counts[call.method] += 1


def _fault_answer(fault: Fault) -> tuple[int, dict[str, Any], dict[str, str], str | None]:
    """Slack's answer to an injected fault: status, JSON body, headers, HTML page (or None)."""
    headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
    if fault.status == DROPPED:
        return DROPPED, {"ok": False, "error": "connection_dropped"}, headers, None
    if fault.status == 429:
        return 429, {"ok": False, "error": "ratelimited"}, headers, None
    if fault.error is not None:
        return fault.status, {"ok": False, "error": fault.error}, headers, None
    page = _SERVER_ERROR_PAGES.get(fault.status)
    error = "internal_error" if page is None else f"http_{fault.status}"
    return fault.status, {"ok": False, "error": error}, headers, page


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
