"""A local Microsoft Teams emulator for tests: Microsoft's side of a Teams bot, over real HTTP.

:class:`TeamsEmulator` plays the Bot Framework services a Teams bot talks to:

* the OpenID document and JWKS that inbound tokens are checked against (the Teams SDK derives
  ``.../keys`` from ``.../openidconfiguration``), and :meth:`TeamsEmulator.mint` to sign such
  tokens (RS256, ``iss``/``aud``/``serviceurl`` as Bot Framework sets them);
* the connector REST API the bot calls back at ``serviceUrl``: create a 1:1 conversation, send,
  update and reply to activities. Every request is recorded; the activities the bot sent
  are kept with their current content. Failures can be scripted (:meth:`TeamsEmulator.fail_next`)
  or drawn at random (:meth:`TeamsEmulator.inject_random_failures`);
* a small model of Teams: users, their personal conversations with the bot, one team with
  channels, and which of them installed the app (a send into a conversation whose roster lacks
  the bot fails with 403 ``BotNotInConversationRoster``, as in Teams).

Outbound calls are NOT authenticated: the bot's tokens come from Microsoft Entra, which tests
cannot reach, so the emulator records the Authorization header and accepts anything.

The server runs in its own thread with its own event loop: the Teams SDK fetches the JWKS with
PyJWT's synchronous urllib client inside the bot's event loop, so an emulator served from that
loop would deadlock. State is guarded by one lock, so tests read it from any thread.

:class:`TeamsDriver` plays the Teams client: it posts activities shaped like those Teams sends
to the bot's ``/api/messages``, each with a freshly minted token.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import random
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import httpx
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from trustbot.devtools.loopback import QuickServer, bind_loopback_socket, http_client

__all__ = [
    "BOT_FRAMEWORK_ISSUER",
    "MINT",
    "RecordedCall",
    "SentActivity",
    "TeamsDriver",
    "TeamsEmulator",
    "TeamsUser",
    "new_signing_key",
]

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
DEFAULT_TENANT_ID = "5f1c0e2a-7d3b-4c1e-9a8f-0b6d2e4c8a10"
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
MAX_REQUEST_BYTES = 262_144  # the connector's hard request limit (botframework-sdk#6669)
_TOKEN_ENDPOINT = re.compile(r"^/([^/]+)/oauth2/v2\.0/token$")
_ACTIVITIES = re.compile(r"^/connector/v3/conversations/([^/]+)/activities(?:/([^/]+))?$")
# Teams' documented error codes and messages ("Status codes from bot conversational APIs").
_ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadArgument", "The request is invalid."),
    403: ("BotNotInConversationRoster", "The bot is not part of the conversation roster."),
    404: ("ConversationNotFound", "Conversation not found."),
    412: ("PreconditionFailed", "Precondition failed, please try again."),
    413: ("MessageSizeTooBig", "Message size too large."),
    429: ("Throttled", "Too many requests."),
    500: ("ServiceError", "Internal service error."),
    502: ("ServiceError", "Bad gateway."),
    503: ("ServiceUnavailable", "Service unavailable."),
    504: ("GatewayTimeout", "Gateway timeout."),
}
_RANDOM_5XX = (500, 502, 504)


def new_signing_key() -> rsa.RSAPrivateKey:
    """A fresh RSA key (2048 bits), e.g. to forge a token the emulator's JWKS does not vouch for."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\x1f".join(parts).encode()).digest()


def _error(status: int, code: str | None = None, message: str | None = None) -> dict[str, Any]:
    default_code, default_message = _ERRORS.get(status, ("ServiceError", "Request failed."))
    return {"error": {"code": code or default_code, "message": message or default_message}}


@dataclass
class TeamsUser:
    """A person in the emulated tenant; ``teams_id`` (``29:...``) is derived when left empty."""

    aad_object_id: str
    name: str
    teams_id: str = ""
    tenant_id: str = DEFAULT_TENANT_ID
    timezone: str = "Europe/Copenhagen"
    """An IANA zone: Teams reports it in ``clientInfo`` and ``localTimezone``."""
    locale: str = "en-US"

    def __post_init__(self) -> None:
        if not self.teams_id:
            # Real ids are long opaque strings per user and app; a hash keeps them stable.
            self.teams_id = "29:1" + _b64url(_digest("user", self.aad_object_id))
        ZoneInfo(self.timezone)  # fail early on a typo, not in the middle of a test


@dataclass
class SentActivity:
    """An activity the bot sent through the connector, in its current version."""

    conversation_id: str
    id: str
    activity: dict[str, Any]
    reply_to_id: str | None = None
    updates: int = 0
    versions: list[dict[str, Any]] = field(default_factory=list)
    """Every version the bot sent, the original first (refreshed cards included)."""
    refreshes: int = 0
    """How often an Action.Execute's answer replaced the card (see TeamsDriver.execute)."""

    @property
    def text(self) -> str:
        return str(self.activity.get("text") or "")

    @property
    def attachments(self) -> list[dict[str, Any]]:
        attachments = self.activity.get("attachments")
        return list(attachments) if isinstance(attachments, list) else []


@dataclass
class RecordedCall:
    """One HTTP request the emulator answered (JWKS fetches included)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    """The parsed JSON body; the text when it is not JSON; None when empty."""
    status: int

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


@dataclass
class _Conversation:
    id: str
    user: TeamsUser | None = None  # a personal chat's
    channel: str | None = None  # a channel's name


@dataclass
class _Failure:
    status: int
    retry_after: int | None
    body: dict[str, Any] | str | None
    method: str | None


@dataclass
class _RandomFailures:
    rate_429: float
    rate_5xx: float
    retry_after: int
    rng: random.Random
    statuses: Iterator[int]


_Reply = tuple[int, dict[str, Any] | str | None, dict[str, str]]


class TeamsEmulator:
    """Bot Framework's side of Teams on 127.0.0.1: JWKS, token minting, connector, a tenant."""

    def __init__(
        self,
        *,
        app_id: str,
        bot_name: str = "trustbot",
        users: Iterable[TeamsUser] = (),
        team_name: str = "Trust Team",
        kid: str = "emulated-bot-framework-key",
        signing_key: rsa.RSAPrivateKey | None = None,
        client_secret: str | None = None,
    ) -> None:
        """`signing_key` signs the tokens (a fresh RSA key when None; making one takes ~0.1 s,
        so a test suite may share one). `client_secret`: the one Microsoft Entra's token
        endpoint accepts (any, when None)."""
        self.app_id = app_id
        self.client_secret = client_secret
        self.bot_id = f"28:{app_id}"
        """The bot's id in Teams activities (``recipient.id``)."""
        self.bot_name = bot_name
        self.tenant_id = DEFAULT_TENANT_ID
        """The tenant TeamsUser defaults to (a user may name another)."""
        self.team_name = team_name
        self.team_id = f"19:{_digest('team', team_name).hex()[:32]}@thread.tacv2"
        """The team's id, which is also its General channel's conversation id."""
        self.team_aad_group_id = str(uuid.UUID(bytes=_digest("group", team_name)[:16]))
        self.kid = kid
        self.key = signing_key if signing_key is not None else new_signing_key()
        self.users: dict[str, TeamsUser] = {}
        """Known users by AAD object id (personal_conversation adds the ones it meets)."""
        for user in users:
            self.users[user.aad_object_id] = user
        self._lock = threading.RLock()
        self._calls: list[RecordedCall] = []
        self._conversations: dict[str, _Conversation] = {}
        self._personal: dict[str, str] = {}  # AAD object id -> personal conversation id
        self._installed: set[str] = set()  # AAD object ids with the app in personal scope
        self._team_installed = False
        self._sent: list[SentActivity] = []  # in the order the bot sent them
        self._sent_by_id: dict[str, SentActivity] = {}  # ids are unique across conversations
        self._ids = itertools.count(int(time.time() * 1000))  # Teams message ids are epoch ms
        self._failures: deque[_Failure] = deque()
        self._random: _RandomFailures | None = None
        self._app = Starlette(
            routes=[Route("/{path:path}", self._handle, methods=["GET", "POST", "PUT", "DELETE"])]
        )
        self._server: QuickServer | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._register(_Conversation(self.team_id, channel="General"))

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Serve on a free loopback port in a thread of its own; a no-op while running."""
        if self._thread is not None and self._thread.is_alive():
            return
        sock = bind_loopback_socket()
        config = uvicorn.Config(
            self._app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        server = QuickServer(config)
        failure: list[BaseException] = []

        def serve() -> None:
            try:
                asyncio.run(server.serve(sockets=[sock]))
            except BaseException as error:  # reported by start(), not lost in the thread
                failure.append(error)
            finally:
                sock.close()

        thread = threading.Thread(target=serve, name="teams-emulator", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the Teams emulator stopped during start-up") from (
                    failure[0] if failure else None
                )
            if time.monotonic() > deadline:
                server.request_exit()
                raise RuntimeError("the Teams emulator did not start within 10 s")
            time.sleep(0.005)
        self._server, self._thread = server, thread
        self._port = int(sock.getsockname()[1])

    def stop(self) -> None:
        """Stop serving and wait for the thread (a no-op when not running)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None and thread is not None:
            server.request_exit()
            thread.join(timeout=10)

    async def __aenter__(self) -> TeamsEmulator:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.stop)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (valid after start)."""
        if self._port is None:
            raise RuntimeError("the Teams emulator has not been started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def service_url(self) -> str:
        """What activities carry as ``serviceUrl``: the connector's base, with a slash."""
        return f"{self.base_url}/connector/"

    @property
    def openid_url(self) -> str:
        """The OpenID metadata URL (the SDK's ``cloud.openid_metadata_url``)."""
        return f"{self.base_url}/v1/.well-known/openidconfiguration"

    @property
    def login_url(self) -> str:
        """Microsoft Entra's base (TEAMS_LOGIN_URL): ``{login_url}/{tenant}/oauth2/v2.0/token``."""
        return self.base_url

    # ------------------------------------------------------------------ tokens

    def jwks(self) -> dict[str, Any]:
        """The public half of the signing key, as login.botframework.com publishes its keys."""
        numbers = self.key.public_key().public_numbers()

        def encode(n: int) -> str:
            return _b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))

        key: dict[str, Any] = {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid}
        key |= {"n": encode(numbers.n), "e": encode(numbers.e), "endorsements": ["msteams"]}
        return {"keys": [key]}

    def mint(
        self,
        *,
        audience: str | None = None,
        service_url: str | None = None,
        issuer: str = BOT_FRAMEWORK_ISSUER,
        expires_in: int = 3600,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
    ) -> str:
        """A token like Bot Framework's on inbound activities (by default valid for this bot).

        ``audience`` defaults to the app id, ``service_url`` to :attr:`service_url` (the SDK
        checks it against the activity's). A negative ``expires_in`` gives an expired token;
        another ``key`` a forged one.
        """
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience if audience is not None else self.app_id,
            "iat": now,
            "nbf": now,
            "exp": now + expires_in,
            "serviceurl": service_url if service_url is not None else self.service_url,
        }
        signer = key if key is not None else self.key
        return jwt.encode(claims, signer, algorithm="RS256", headers={"kid": kid or self.kid})

    # ------------------------------------------------------------------ Teams model

    def personal_conversation(self, user: TeamsUser) -> str:
        """The id of the user's 1:1 conversation with the bot (stable; created on demand)."""
        with self._lock:
            self.users.setdefault(user.aad_object_id, user)
            conversation = self._personal.get(user.aad_object_id)
            if conversation is None:
                conversation = "a:1" + _b64url(_digest("chat", self.app_id, user.aad_object_id))
                self._personal[user.aad_object_id] = conversation
                self._register(_Conversation(conversation, user=user))
            return conversation

    def channel_conversation(self, name: str) -> str:
        """The conversation id of a channel of the team (General's is the team id)."""
        if name == "General":
            return self.team_id
        conversation = f"19:{_digest('channel', self.team_name, name).hex()[:32]}@thread.tacv2"
        with self._lock:
            self._register(_Conversation(conversation, channel=name))
        return conversation

    def channel_name(self, conversation_id: str) -> str | None:
        """The channel a conversation id (or a thread in it) belongs to; None if not a channel."""
        with self._lock:
            found = self._conversations.get(conversation_id.split(";")[0])
        return found.channel if found is not None else None

    def set_installed(self, user: TeamsUser, installed: bool = True) -> None:
        """Whether the user has the app in personal scope (the bot may message them)."""
        self.personal_conversation(user)
        with self._lock:
            (self._installed.add if installed else self._installed.discard)(user.aad_object_id)

    def is_installed(self, user: TeamsUser) -> bool:
        with self._lock:
            return user.aad_object_id in self._installed

    def set_team_installed(self, installed: bool = True) -> None:
        """Whether the app is installed in the team (the bot may post in its channels)."""
        with self._lock:
            self._team_installed = installed

    @property
    def team_installed(self) -> bool:
        with self._lock:
            return self._team_installed

    def new_message_id(self) -> str:
        """A fresh message id, unique in the emulator (Teams' are epoch milliseconds)."""
        with self._lock:
            return str(next(self._ids))

    def _register(self, conversation: _Conversation) -> None:
        self._conversations.setdefault(conversation.id, conversation)

    # ------------------------------------------------------------------ what the bot did

    @property
    def calls(self) -> list[RecordedCall]:
        """Every request received, in order (a copy)."""
        with self._lock:
            return list(self._calls)

    def connector_calls(self) -> list[RecordedCall]:
        """The bot's calls to the connector REST API, in order."""
        return [c for c in self.calls if c.path.startswith("/connector/")]

    def activities_in(self, conversation_id: str) -> list[SentActivity]:
        """Activities the bot sent to a conversation, in order (typing indicators aside).
        A channel's id also covers its threads (``<channel>;messageid=<root>``)."""
        whole_channel = ";" not in conversation_id
        with self._lock:
            return [
                sent
                for sent in self._sent
                if sent.conversation_id == conversation_id
                or (whole_channel and sent.conversation_id.split(";")[0] == conversation_id)
            ]

    def activity(self, conversation_id: str, activity_id: str) -> SentActivity:
        """The activity the bot sent with this id (KeyError when absent); a channel's id also
        finds activities in its threads."""
        sent = self.find_activity(activity_id)
        if conversation_id not in (sent.conversation_id, sent.conversation_id.split(";")[0]):
            raise KeyError(f"no activity {activity_id} in {conversation_id}")
        return sent

    def find_activity(self, activity_id: str) -> SentActivity:
        """The activity the bot sent with this id, in whichever conversation (KeyError)."""
        with self._lock:
            sent = self._sent_by_id.get(activity_id)
        if sent is None:
            raise KeyError(f"the bot sent no activity {activity_id}")
        return sent

    def refresh_card(self, activity_id: str, card: dict[str, Any]) -> None:
        """Replace the card of a sent activity, as Teams does with the card an Action.Execute
        invoke answers with: it stays in the chat history in place of the one clicked."""
        with self._lock:
            sent = self._sent_by_id[activity_id]
            refreshed = dict(sent.activity)
            refreshed["attachments"] = [{"contentType": ADAPTIVE_CARD, "content": card}]
            sent.activity = refreshed
            sent.versions.append(refreshed)
            sent.refreshes += 1

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - the same API as the Slack emulator's
        *,
        what: str | None = None,
    ) -> None:
        """Poll ``predicate`` every 10 ms; AssertionError (with a summary) on timeout."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                calls = self.connector_calls()
                recent = ", ".join(f"{c.method} {c.path} {c.status}" for c in calls[-10:])
                name = what or getattr(predicate, "__qualname__", repr(predicate))
                raise AssertionError(
                    f"timed out after {timeout} s waiting for {name}; {len(calls)} connector "
                    f"calls (last: {recent or 'none'})"
                )
            await asyncio.sleep(0.01)

    # ------------------------------------------------------------------ failure injection

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        body: dict[str, Any] | str | None = None,
        method: str | None = None,
    ) -> None:
        """Answer the next ``times`` connector calls (of one HTTP ``method``, if given) with
        ``status`` and Teams' error body for it (or ``body``), without performing them.

        A 429 carries ``Retry-After`` (``retry_after``, by default 1 s), as Teams' does.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            failure = _Failure(status, retry_after, body, method.upper() if method else None)
            self._failures.extend([failure] * times)

    def inject_random_failures(
        self,
        *,
        rate_429: float = 0.0,
        rate_5xx: float = 0.0,
        seed: int | None = None,
        retry_after: int = 1,
    ) -> None:
        """Refuse connector calls at random: 429 with probability ``rate_429``, else a 500,
        502 or 504 (in turn) with probability ``rate_5xx``. A ``seed`` makes the draws
        repeatable; both rates 0 turn it off. Scripted failures (fail_next) come first."""
        if not (0 <= rate_429 <= 1 and 0 <= rate_5xx <= 1 and rate_429 + rate_5xx <= 1):
            raise ValueError("rate_429 and rate_5xx must be probabilities that sum to at most 1")
        with self._lock:
            self._random = None
            if rate_429 or rate_5xx:
                statuses = itertools.cycle(_RANDOM_5XX)
                self._random = _RandomFailures(
                    rate_429, rate_5xx, retry_after, random.Random(seed), statuses
                )

    def _injected(self, method: str) -> _Reply | None:
        failure = next((f for f in self._failures if f.method in (None, method)), None)
        if failure is not None:
            self._failures.remove(failure)
            headers = (
                {} if failure.retry_after is None else {"Retry-After": str(failure.retry_after)}
            )
            body = failure.body if failure.body is not None else _error(failure.status)
            return failure.status, body, headers
        chance = self._random
        if chance is not None:
            draw = chance.rng.random()
            if draw < chance.rate_429:
                return 429, _error(429), {"Retry-After": str(chance.retry_after)}
            if draw < chance.rate_429 + chance.rate_5xx:
                status = next(chance.statuses)
                return status, _error(status), {}
        return None

    # ------------------------------------------------------------------ HTTP

    async def _handle(self, request: Request) -> Response:
        raw = await request.body()
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", errors="replace")
        path, method = request.url.path, request.method
        with self._lock:  # one request is one atomic step, whichever thread reads the state
            status, payload, headers = self._respond(method, path, body, len(raw))
            self._calls.append(RecordedCall(method, path, dict(request.headers), body, status))
        if isinstance(payload, str):
            return Response(payload, status_code=status, headers=headers, media_type="text/html")
        return JSONResponse(payload, status_code=status, headers=headers)

    def _respond(self, method: str, path: str, body: Any, size: int) -> _Reply:
        if path == "/v1/.well-known/keys" and method == "GET":
            return 200, self.jwks(), {}
        if path == "/v1/.well-known/openidconfiguration" and method == "GET":
            return 200, self._openid_document(), {}
        token = _TOKEN_ENDPOINT.match(path)
        if token is not None and method == "POST":
            return self._entra_token(token[1], body)
        match = _ACTIVITIES.match(path)
        if path != "/connector/v3/conversations" and match is None:
            return 404, _error(404, "NotFound", f"No route for {method} {path}."), {}
        injected = self._injected(method)
        if injected is not None:
            return injected
        if size > MAX_REQUEST_BYTES:
            return 413, _error(413), {}
        if match is None:
            return self._create_conversation(method, body)
        conversation = self._conversations.get(match[1].split(";")[0])
        if conversation is None:
            return 404, _error(404), {}
        if not self._in_roster(conversation):
            return 403, _error(403), {}
        activity_id = match[2]
        if method == "POST":
            reply_to = activity_id or (body.get("replyToId") if isinstance(body, dict) else None)
            return self._store(match[1], body, reply_to)
        if activity_id is None or method != "PUT":
            return 405, _error(405, "MethodNotAllowed", f"{method} is not emulated here."), {}
        sent = self._sent_by_id.get(activity_id)
        if sent is None or sent.conversation_id != match[1]:
            return 404, _error(404, "ActivityNotFoundInConversation", "Activity not found."), {}
        problem = _check_activity(body)
        if problem is not None:
            return 400, _error(400, message=problem), {}
        sent.activity = body
        sent.versions.append(body)
        sent.updates += 1
        return 200, {"id": activity_id}, {}

    def _entra_token(self, tenant: str, body: Any) -> _Reply:
        """Microsoft Entra's client-credentials grant, as the bot asks for its outbound token:
        a wrong tenant, client id or secret is refused with Entra's error and AADSTS code."""
        form = dict(parse_qsl(body)) if isinstance(body, str) else {}
        if tenant != self.tenant_id:
            return 400, _entra_error("invalid_request", "AADSTS90002", "Tenant not found."), {}
        if form.get("grant_type") != "client_credentials" or not form.get("scope"):
            return 400, _entra_error("invalid_request", "AADSTS900144", "Bad request."), {}
        if form.get("client_id") != self.app_id:
            return 400, _entra_error("unauthorized_client", "AADSTS700016", "App not found."), {}
        if self.client_secret is not None and form.get("client_secret") != self.client_secret:
            return 401, _entra_error("invalid_client", "AADSTS7000215", "Invalid secret."), {}
        token = self.mint(audience="https://api.botframework.com")
        return 200, {"token_type": "Bearer", "expires_in": 3599, "access_token": token}, {}

    def _openid_document(self) -> dict[str, Any]:
        return {
            "issuer": BOT_FRAMEWORK_ISSUER,
            "authorization_endpoint": "https://invalid.botframework.com",
            "jwks_uri": f"{self.base_url}/v1/.well-known/keys",
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        }

    def _in_roster(self, conversation: _Conversation) -> bool:
        if conversation.user is not None:
            return conversation.user.aad_object_id in self._installed
        return self._team_installed

    def _create_conversation(self, method: str, body: Any) -> _Reply:
        """POST /v3/conversations: Teams creates (or finds again) a 1:1 chat with one user."""
        if method != "POST" or not isinstance(body, dict):
            return 400, _error(400, "BadSyntax", "Expected a JSON object."), {}
        members = body.get("members")
        if body.get("isGroup") or not isinstance(members, list) or len(members) != 1:
            # Group chats cannot be created; channel threads are not emulated.
            return 400, _error(400, "BadSyntax", "Exactly one member is supported."), {}
        tenant = body.get("tenantId") or (body.get("channelData") or {}).get("tenant", {}).get("id")
        member_id = members[0].get("id") if isinstance(members[0], dict) else None
        user = next((u for u in self.users.values() if u.teams_id == member_id), None)
        if not tenant or user is None or user.tenant_id != tenant:
            return 400, _error(400, message="Invalid user identity in provided tenant"), {}
        if user.aad_object_id not in self._installed:
            return 403, _error(403), {}
        return 201, {"id": self.personal_conversation(user)}, {}

    def _store(self, conversation_id: str, body: Any, reply_to: str | None) -> _Reply:
        problem = _check_activity(body)
        if problem is not None:
            return 400, _error(400, message=problem), {}
        if body["type"] == "typing":  # shown, never stored; Teams answers with no id
            return 201, {}, {}
        activity_id = self.new_message_id()
        sent = SentActivity(conversation_id, activity_id, body, reply_to, versions=[body])
        self._sent.append(sent)
        self._sent_by_id[activity_id] = sent
        return 201, {"id": activity_id}, {}


def _entra_error(error: str, code: str, message: str) -> dict[str, Any]:
    return {"error": error, "error_description": f"{code}: {message}", "error_codes": [code]}


def _check_activity(body: Any) -> str | None:
    """Why the connector would refuse this activity, or None."""
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        return "The activity must be a JSON object with a type."
    attachments = body.get("attachments", [])
    if not isinstance(attachments, list):
        return "attachments must be an array."
    for attachment in attachments:
        if not isinstance(attachment, dict) or not attachment.get("contentType"):
            return "Every attachment needs a contentType."
        if attachment["contentType"] == ADAPTIVE_CARD and not isinstance(
            attachment.get("content"), dict
        ):
            return "An Adaptive Card attachment needs its card as content."
    return None


class _Mint(Enum):
    TOKEN = "mint"


MINT = _Mint.TOKEN
"""The default ``token=`` of :meth:`TeamsDriver.post`: a fresh valid token from the emulator."""


class TeamsDriver:
    """Plays the Teams client: posts activities to the bot as Teams does, with real JWTs.

    The activities follow what Teams sends (Microsoft's documented examples and the Agents
    Playground's captures): ids ``29:...`` for people and ``28:<app id>`` for the bot,
    ``conversationType``/``tenantId``, ``channelData.tenant``, a ``clientInfo`` entity, and the
    ``x-ms-conversation-id``/``x-ms-tenant-id`` headers.
    """

    def __init__(
        self,
        *,
        emulator: TeamsEmulator,
        bot_url: str,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.emulator = emulator
        self.clock = clock
        """When activities are stamped (`timestamp`); a test's clock when the bot runs on one,
        since the bot refuses actions dated ahead of its own clock."""
        self.bot_url = bot_url
        """The bot's messaging endpoint, e.g. ``http://127.0.0.1:PORT/api/messages``."""
        self._owns_http = http is None
        self._http = http if http is not None else http_client(timeout=10.0)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> TeamsDriver:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ low level

    def activity(
        self, type: str, user: TeamsUser, *, conversation: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """An activity from ``user`` in a conversation (their personal one by default)."""
        emu = self.emulator
        conversation = conversation or emu.personal_conversation(user)
        now = self.clock()
        local = now.astimezone(ZoneInfo(user.timezone))
        channel = emu.channel_name(conversation)
        body: dict[str, Any] = {
            "type": type,
            "id": f"f:{uuid.uuid4().int % 10**19:019d}"
            if type != "message"
            else emu.new_message_id(),
            "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "localTimestamp": local.isoformat(timespec="milliseconds"),
            "localTimezone": user.timezone,
            "serviceUrl": emu.service_url,
            "channelId": "msteams",
            "from": {"id": user.teams_id, "name": user.name, "aadObjectId": user.aad_object_id},
            "conversation": {"conversationType": "personal", "tenantId": user.tenant_id},
            "recipient": {"id": emu.bot_id, "name": emu.bot_name},
            "entities": [
                {
                    "type": "clientInfo",
                    "locale": user.locale,
                    "country": user.locale.rpartition("-")[2],
                    "platform": "Web",
                    "timezone": user.timezone,
                }
            ],
            "channelData": {"tenant": {"id": user.tenant_id}},
            "locale": user.locale,
        }
        if channel is not None:
            body["conversation"] = {"isGroup": True, "conversationType": "channel"} | {
                "tenantId": user.tenant_id
            }
            body["channelData"] |= {
                "teamsChannelId": conversation.split(";")[0],
                "teamsTeamId": emu.team_id,
                "channel": {"id": conversation.split(";")[0], "name": channel},
                "team": {
                    "id": emu.team_id,
                    "name": emu.team_name,
                    "aadGroupId": emu.team_aad_group_id,
                },
            }
        body["conversation"]["id"] = conversation
        body.update(fields)
        return body

    async def post(
        self, activity: dict[str, Any] | bytes, *, token: str | _Mint | None = MINT
    ) -> httpx.Response:
        """POST an activity (or raw bytes) to the bot. ``token``: by default a fresh valid one
        for the activity's serviceUrl; a string is sent as is; None sends no Authorization."""
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Microsoft-SkypeBotApi (Microsoft-BotFramework/3.0)",
        }
        if isinstance(activity, dict):
            # Teams names the conversation and tenant in headers too, for routing.
            headers["x-ms-conversation-id"] = str(activity.get("conversation", {}).get("id", ""))
            headers["x-ms-tenant-id"] = str(activity.get("conversation", {}).get("tenantId", ""))
        if token is MINT:
            service_url = activity.get("serviceUrl") if isinstance(activity, dict) else None
            token = self.emulator.mint(service_url=service_url)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        content = activity if isinstance(activity, bytes) else json.dumps(activity).encode()
        return await self._http.post(self.bot_url, content=content, headers=headers)

    # ------------------------------------------------------------------ what people do

    async def install(self, user: TeamsUser) -> httpx.Response:
        """The user adds the app (personal scope): the bot joins the 1:1 chat's roster, then
        Teams sends conversationUpdate (membersAdded) and installationUpdate ``add``.
        Returns the installationUpdate's response."""
        self.emulator.set_installed(user)
        added = [
            {"id": user.teams_id, "aadObjectId": user.aad_object_id},
            {"id": self.emulator.bot_id},
        ]
        await self._expect_ok(self.activity("conversationUpdate", user, membersAdded=added))
        update = self.activity("installationUpdate", user, action="add")
        update["channelData"] |= {"source": {"name": "message"}}
        return await self.post(update)

    async def uninstall(self, user: TeamsUser) -> httpx.Response:
        """The user removes the app: off the roster, then installationUpdate ``remove``."""
        self.emulator.set_installed(user, False)
        return await self.post(self.activity("installationUpdate", user, action="remove"))

    async def install_in_channel(self, name: str, by_user: TeamsUser) -> httpx.Response:
        """``by_user`` adds the app to the team, choosing channel ``name``: conversationUpdate
        (``teamMemberAdded``) in the team, then installationUpdate ``add`` in that channel."""
        emu = self.emulator
        channel = emu.channel_conversation(name)
        emu.set_team_installed()
        joined = self.activity(
            "conversationUpdate",
            by_user,
            conversation=emu.team_id,
            membersAdded=[{"id": emu.bot_id}],
        )
        joined["channelData"]["eventType"] = "teamMemberAdded"
        await self._expect_ok(joined)
        update = self.activity("installationUpdate", by_user, conversation=channel, action="add")
        update["channelData"] |= {
            "settings": {"selectedChannel": {"id": channel}},
            "source": {"name": "message"},
        }
        return await self.post(update)

    async def message(
        self, user: TeamsUser, text: str, *, conversation: str | None = None
    ) -> httpx.Response:
        """The user writes ``text`` to the bot; in a channel, as a new post that @mentions it
        (the conversation id then names the post: ``<channel>;messageid=<id>``)."""
        activity = self._from(user, "message", conversation, text=text, textFormat="plain")
        if self.emulator.channel_name(activity["conversation"]["id"]) is not None:
            mention = f"<at>{self.emulator.bot_name}</at>"
            activity["text"] = f"{mention} {text}"
            activity["conversation"]["id"] += f";messageid={activity['id']}"
            activity["entities"].insert(
                0,
                {
                    "type": "mention",
                    "text": mention,
                    "mentioned": {"id": self.emulator.bot_id, "name": self.emulator.bot_name},
                },
            )
        return await self.post(activity)

    async def submit(
        self,
        user: TeamsUser,
        data: dict[str, Any],
        *,
        reply_to_id: str,
        inputs: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """The user clicks an Action.Submit on the card of the bot's activity ``reply_to_id``
        (in that activity's conversation): a message with empty text and ``value`` = the
        action's data merged with the inputs. AssertionError when the card has no Action.Submit.
        """
        sent, actions = self._card(reply_to_id, "Action.Submit")
        if not actions:  # Teams shows no button to click (a fallback counts: it may render)
            raise AssertionError(f"the card of activity {reply_to_id} has no Action.Submit")
        activity = self._from(user, "message", sent.conversation_id, text="", replyToId=sent.id)
        activity["value"] = {**data, **(inputs or {})}
        activity["channelData"] |= {"source": {"name": "message"}}
        return await self.post(activity)

    async def execute(
        self,
        user: TeamsUser,
        *,
        verb: str,
        reply_to_id: str,
        data: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The user clicks the Action.Execute ``verb`` on the card of the bot's activity
        ``reply_to_id``: an ``adaptiveCard/action`` invoke in that activity's conversation.

        ``data`` defaults to that action's own data (AssertionError when the card has no such
        action, or several with different data). Returns the bot's invoke response body;
        AssertionError unless the bot answers HTTP 200.

        As in Teams, an answer that is a card replaces the clicked card in the chat history
        (:meth:`TeamsEmulator.refresh_card`); an ``application/vnd.microsoft.activity.message``
        answer is shown to the person for a moment and kept nowhere.
        """
        sent, actions = self._card(reply_to_id, "Action.Execute")
        activity = self._from(user, "invoke", sent.conversation_id, name="adaptiveCard/action")
        matching = [a for a in actions if a.get("verb") == verb]
        if not matching:
            verbs = sorted({str(a.get("verb")) for a in actions})
            raise AssertionError(
                f"no Action.Execute with verb {verb!r} on the card; verbs: {verbs}"
            )
        if data is None:
            candidates = [a.get("data") or {} for a in matching]
            if any(c != candidates[0] for c in candidates):
                raise AssertionError(f"several {verb!r} actions with different data: pass data=")
            data = dict(candidates[0])
        action = {"type": "Action.Execute", "verb": verb, "data": {**data, **(inputs or {})}}
        activity |= {"replyToId": reply_to_id, "value": {"action": action, "trigger": "manual"}}
        activity["channelData"] |= {"source": {"name": "message"}}
        response = await self.post(activity)
        if response.status_code != 200:
            raise AssertionError(f"invoke answered HTTP {response.status_code}: {response.text}")
        parsed: dict[str, Any] = response.json() if response.content else {}
        if parsed.get("type") == ADAPTIVE_CARD and isinstance(parsed.get("value"), dict):
            self.emulator.refresh_card(reply_to_id, parsed["value"])
        return parsed

    # ------------------------------------------------------------------ helpers

    def _from(
        self, user: TeamsUser, type: str, conversation: str | None, **fields: Any
    ) -> dict[str, Any]:
        """An activity from a person, who can only reach the bot where the app is installed."""
        emu = self.emulator
        conversation = conversation or emu.personal_conversation(user)
        if emu.channel_name(conversation) is None and not emu.is_installed(user):
            raise AssertionError(f"{user.name} has not installed the app: driver.install(user)")
        if emu.channel_name(conversation) is not None and not emu.team_installed:
            raise AssertionError("the app is not installed in the team: install_in_channel()")
        return self.activity(type, user, conversation=conversation, **fields)

    def _card(
        self, activity_id: str, action_type: str
    ) -> tuple[SentActivity, list[dict[str, Any]]]:
        """A bot activity a person acts on, and the ``action_type`` actions of its cards."""
        try:
            sent = self.emulator.find_activity(activity_id)
        except KeyError as missing:
            raise AssertionError(str(missing)) from None
        cards = [
            a.get("content") for a in sent.attachments if a.get("contentType") == ADAPTIVE_CARD
        ]
        return sent, list(_find_actions(cards, action_type))

    async def _expect_ok(self, activity: dict[str, Any]) -> None:
        response = await self.post(activity)
        if response.status_code >= 400:
            raise AssertionError(
                f"{activity['type']} answered HTTP {response.status_code}: {response.text}"
            )


def _find_actions(node: Any, action_type: str) -> Iterator[dict[str, Any]]:
    """Every action of ``action_type`` anywhere in a card (ActionSets, ShowCards, fallbacks)."""
    if isinstance(node, dict):
        if node.get("type") == action_type:
            yield node
        for value in node.values():
            yield from _find_actions(value, action_type)
    elif isinstance(node, list):
        for item in node:
            yield from _find_actions(item, action_type)
