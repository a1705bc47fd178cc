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

The server runs in its own thread with its own event loop (:class:`LoopbackServer`'s
``start_in_thread``): the Teams SDK fetches the JWKS with
PyJWT's synchronous urllib client inside the bot's event loop, so an emulator served from that
loop would deadlock. State is guarded by one lock, so tests read it from any thread.

:class:`trustbot.devtools.teams_driver.TeamsDriver` plays the Teams client.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from trustbot.devtools.faults import CallLog, Fault, FaultInjector, wait_until
from trustbot.devtools.loopback import LoopbackServer

__all__ = [
    "BOT_FRAMEWORK_ISSUER",
    "RecordedCall",
    "SentActivity",
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
        self._log: CallLog[RecordedCall] = CallLog(lambda call: call.method)
        self._conversations: dict[str, _Conversation] = {}
        self._personal: dict[str, str] = {}  # AAD object id -> personal conversation id
        self._installed: set[str] = set()  # AAD object ids with the app in personal scope
        self._team_installed = False
        self._sent: list[SentActivity] = []  # in the order the bot sent them
        self._sent_by_id: dict[str, SentActivity] = {}  # ids are unique across conversations
        self._ids = itertools.count(int(time.time() * 1000))  # Teams message ids are epoch ms
        self._faults = FaultInjector(_RANDOM_5XX)
        self._app = Starlette(
            routes=[Route("/{path:path}", self._handle, methods=["GET", "POST", "PUT", "DELETE"])]
        )
        self._server = LoopbackServer(self._app, name="Teams emulator")
        self._register(_Conversation(self.team_id, channel="General"))

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Serve on a free loopback port in a thread of its own; a no-op while running."""
        self._server.start_in_thread()

    def stop(self) -> None:
        """Stop serving and wait for the thread (a no-op when not running)."""
        self._server.stop_thread()

    async def __aenter__(self) -> TeamsEmulator:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.stop)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (valid after start)."""
        return self._server.url

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
            return list(self._log.calls)

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
        await wait_until(predicate, timeout, what=what, state=self._summary)

    def _summary(self) -> str:
        calls = self.connector_calls()
        recent = ", ".join(f"{c.method} {c.path} {c.status}" for c in calls[-10:])
        return f"{len(calls)} connector calls (last: {recent or 'none'})"

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
            fault = Fault(status, retry_after=retry_after, body=body)
            self._faults.script(method.upper() if method else None, fault, times)

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
        with self._lock:
            self._faults.inject_random(
                None, rate_429=rate_429, rate_5xx=rate_5xx, seed=seed, retry_after=retry_after
            )

    def _injected(self, method: str) -> _Reply | None:
        fault = self._faults.scripted(method) or self._faults.drawn(method)
        if fault is None:
            return None
        headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
        return fault.status, fault.body if fault.body is not None else _error(fault.status), headers

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
            self._log.record(RecordedCall(method, path, dict(request.headers), body, status))
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
