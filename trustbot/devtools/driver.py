"""Plays Slack's side towards the bot: events, slash commands and interactivity payloads.

:class:`SlackPayloads` builds the payloads exactly as Slack does; two transports deliver them:

* :class:`SlackDriver` over HTTP, signed with the signing secret. Events are JSON
  ``event_callback`` envelopes; slash commands are form-encoded; interactivity payloads
  (block_actions, view_submission) are a form field ``payload=<json>``.
* :class:`SocketModeDriver` over the emulator's Socket Mode WebSocket, as ``events_api``,
  ``slash_commands`` and ``interactive`` envelopes; each call returns the app's ack.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NotRequired, TypedDict, Unpack
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from trustbot.devtools.emulator import SlackEmulator, StoredMessage
from trustbot.devtools.loopback import BotClient

__all__ = ["SlackDriver", "SlackPayloads", "SocketModeDriver", "find_button"]

_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"
_VERIFICATION_TOKEN = "emulated-verification-token"  # the legacy field Slack still sends


class ReactionArgs(TypedDict):
    """What :meth:`SlackPayloads.reaction` takes (and a driver's ``react``)."""

    user_id: str
    message: StoredMessage
    reaction: str
    removed: NotRequired[bool]


class CommandArgs(TypedDict):
    """What :meth:`SlackPayloads.slash_command` takes (and a driver's ``send_command``)."""

    user_id: str
    command: NotRequired[str]
    text: NotRequired[str]
    channel_id: NotRequired[str | None]


class ClickArgs(TypedDict):
    """What :meth:`SlackPayloads.block_actions` takes (and a driver's ``click_button``)."""

    user_id: str
    message: StoredMessage
    action_id: str
    value: NotRequired[str | None]
    action_ts: NotRequired[str | None]


class ChoiceArgs(TypedDict):
    """What :meth:`SlackPayloads.menu_choice` takes (and a driver's ``choose_option``)."""

    user_id: str
    message: StoredMessage
    action_id: str
    value: str


class SubmissionArgs(TypedDict):
    """What :meth:`SlackPayloads.view_submission` takes (and a driver's ``submit_view``)."""

    user_id: str
    view: dict[str, Any]
    values: dict[str, dict[str, dict[str, Any]]]


class SlackPayloads:
    """Builds Slack's payloads for the emulated workspace; the transports share it."""

    def __init__(
        self,
        *,
        emulator: SlackEmulator,
        team_id: str = "T0TRUST",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.emulator = emulator
        self.team_id = team_id
        self.clock = clock
        """Seconds since the epoch for the times Slack stamps (action_ts, event_ts); a test's
        clock when the bot runs on one, since the bot refuses actions dated ahead of its own."""
        self._event_counter = itertools.count(1)

    def event_callback(
        self, event: dict[str, Any], *, event_id: str | None = None
    ) -> dict[str, Any]:
        """An Events API ``event_callback`` envelope around one event."""
        return {
            "token": _VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.emulator.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id
            or f"Ev{next(self._event_counter):04d}{secrets.token_hex(4).upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.emulator.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{secrets.token_urlsafe(24)}",
        }

    def reaction(
        self, *, user_id: str, message: StoredMessage, reaction: str, removed: bool = False
    ) -> dict[str, Any]:
        """A reaction_added (or reaction_removed) event on a message the bot posted."""
        return {
            "type": "reaction_removed" if removed else "reaction_added",
            "user": user_id,
            "reaction": reaction,
            "item_user": message.user,
            "item": {"type": "message", "channel": message.channel, "ts": message.ts},
            "event_ts": self._now_ts(),
        }

    def slash_command(
        self,
        *,
        user_id: str,
        command: str = "/trust-report",
        text: str = "",
        channel_id: str | None = None,
    ) -> dict[str, str]:
        """A slash command's fields (from the user's DM by default), all strings as Slack sends."""
        channel = channel_id or self.emulator.dm_channel_for(user_id)
        return {
            "token": _VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": self.emulator.team_domain,
            "channel_id": channel,
            "channel_name": self._channel_name(channel),
            "user_id": user_id,
            "user_name": self._user_name(user_id),
            "command": command,
            "text": text,
            "api_app_id": self.emulator.app_id,
            "is_enterprise_install": "false",
            "response_url": self.emulator.new_response_url(),
            "trigger_id": self.emulator.new_trigger_id(user_id),
        }

    def block_actions(
        self,
        *,
        user_id: str,
        message: StoredMessage,
        action_id: str,
        value: str | None = None,
        action_ts: str | None = None,
    ) -> dict[str, Any]:
        """A click on the button ``action_id`` of a stored message (``value`` overrides its own).

        ``action_ts`` is when the person clicked (now by default), as Slack stamps each action.
        """
        block_id, button = find_button(message.blocks, action_id)
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "text": button.get("text", {"type": "plain_text", "text": "", "emoji": True}),
            "type": "button",
            "action_ts": action_ts or self._now_ts(),
        }
        if value is not None:
            action["value"] = value
        elif "value" in button:
            action["value"] = button["value"]
        if "style" in button:
            action["style"] = button["style"]
        return self._action_payload(user_id=user_id, message=message, action=action)

    def menu_choice(
        self, *, user_id: str, message: StoredMessage, action_id: str, value: str
    ) -> dict[str, Any]:
        """Choosing the option ``value`` in the overflow menu ``action_id`` of a stored message."""
        block_id, menu = find_element(message.blocks, action_id, "overflow")
        options = [option for option in menu.get("options", []) if option.get("value") == value]
        assert options, f"the menu {action_id!r} has no option {value!r}"
        action = {
            "type": "overflow",
            "action_id": action_id,
            "block_id": block_id,
            "selected_option": options[0],
            "action_ts": self._now_ts(),
        }
        return self._action_payload(user_id=user_id, message=message, action=action)

    def _action_payload(
        self, *, user_id: str, message: StoredMessage, action: dict[str, Any]
    ) -> dict[str, Any]:
        """A block_actions payload carrying one action on a stored message."""
        slack_message: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "user": message.user,
            "bot_id": self.emulator.bot_id,
            "app_id": self.emulator.app_id,
            "team": self.team_id,
            "ts": message.ts,
            "text": message.text,
            "blocks": message.blocks,
        }
        if message.thread_ts:
            slack_message["thread_ts"] = message.thread_ts
        return {
            "type": "block_actions",
            "user": self._user_json(user_id),
            "api_app_id": self.emulator.app_id,
            "token": _VERIFICATION_TOKEN,
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": False,
            },
            "trigger_id": self.emulator.new_trigger_id(user_id),
            "team": {"id": self.team_id, "domain": self.emulator.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": message.channel, "name": self._channel_name(message.channel)},
            "message": slack_message,
            "state": {"values": {}},
            "response_url": self.emulator.new_response_url(),
            "actions": [action],
        }

    def view_submission(
        self,
        *,
        user_id: str,
        view: dict[str, Any],
        values: dict[str, dict[str, dict[str, Any]]],
    ) -> dict[str, Any]:
        """A modal submitted with ``values`` (Slack's ``state.values`` shape).

        ``view`` may be an entry of ``emulator.opened_views``, its ``"view"`` (the view as the
        bot sent it), a view object returned by views.open/views.update (with ``id``), or any
        view dict. A view the emulator opened is sent as Slack would: the full view object with
        ``id``, ``hash``, ``private_metadata``...; any other dict is sent as given.
        """
        full = dict(self._full_view(view))
        full["state"] = {"values": values}
        return {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": self.emulator.team_domain},
            "user": self._user_json(user_id),
            "api_app_id": self.emulator.app_id,
            "token": _VERIFICATION_TOKEN,
            "trigger_id": self.emulator.new_trigger_id(user_id),
            "view": full,
            "response_urls": [],
            "enterprise": None,
            "is_enterprise_install": False,
        }

    # ------------------------------------------------------------------ helpers

    def _now_ts(self) -> str:
        return f"{self.clock():.6f}"

    def _full_view(self, view: dict[str, Any]) -> dict[str, Any]:
        view_id = view.get("id")
        if isinstance(view_id, str):
            try:
                return self.emulator.view(view_id)
            except KeyError:
                inner = view.get("view")
                return {**inner, "id": view_id} if isinstance(inner, dict) else view
        for entry in reversed(self.emulator.opened_views):
            if entry["view"] is view:
                return self.emulator.view(entry["id"])
        for entry in reversed(self.emulator.opened_views):
            if entry["view"] == view:
                return self.emulator.view(entry["id"])
        return view

    def _user_name(self, user_id: str) -> str:
        user = self.emulator.users.get(user_id)
        return user.name if user is not None else user_id.lower()

    def _user_json(self, user_id: str) -> dict[str, Any]:
        name = self._user_name(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _channel_name(self, channel_id: str) -> str:
        return "directmessage" if channel_id.startswith("D") else channel_id.lower()


class _Transport[R](ABC):
    """What a person does in Slack, the same over either transport; ``R`` is what one delivery
    returns (the HTTP response, or the Socket Mode acknowledgement)."""

    payloads: SlackPayloads

    @abstractmethod
    async def send_event(self, event: dict[str, Any], *, event_id: str | None = None) -> R:
        """Deliver one event in an ``event_callback`` envelope."""

    @abstractmethod
    async def _deliver_command(self, fields: dict[str, str]) -> R: ...

    @abstractmethod
    async def send_block_action(self, payload: dict[str, Any]) -> R:
        """Deliver any interactivity payload."""

    async def react(self, **event: Unpack[ReactionArgs]) -> R:
        """A reaction_added (or reaction_removed) event on a message the bot posted."""
        return await self.send_event(self.payloads.reaction(**event))

    async def send_command(self, **command: Unpack[CommandArgs]) -> R:
        """A slash command as Slack sends it (``/trust-report`` from the user's DM by default)."""
        return await self._deliver_command(self.payloads.slash_command(**command))

    async def click_button(self, **click: Unpack[ClickArgs]) -> R:
        """Click the button ``action_id`` in a stored message (``value`` overrides its value)."""
        return await self.send_block_action(self.payloads.block_actions(**click))

    async def choose_option(self, **choice: Unpack[ChoiceArgs]) -> R:
        """Choose the option ``value`` in the overflow menu ``action_id`` of a stored message."""
        return await self.send_block_action(self.payloads.menu_choice(**choice))

    async def submit_view(self, **submission: Unpack[SubmissionArgs]) -> R:
        """Submit a modal with ``values``; see :meth:`SlackPayloads.view_submission`."""
        return await self.send_block_action(self.payloads.view_submission(**submission))


class SlackDriver(BotClient, _Transport[httpx.Response]):
    """Plays Slack's side of the Events API, slash commands and interactivity over HTTP."""

    def __init__(
        self,
        *,
        bot_url: str,
        signing_secret: str,
        emulator: SlackEmulator,
        team_id: str = "T0TRUST",
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bot_url = bot_url
        self.signing_secret = signing_secret
        self.emulator = emulator
        self.team_id = team_id
        self.payloads = SlackPayloads(emulator=emulator, team_id=team_id, clock=clock)
        self._verifier = SignatureVerifier(signing_secret)
        super().__init__(http)

    async def post_signed(
        self,
        body: bytes,
        *,
        content_type: str,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """POST ``body`` to the bot, signed (unless ``signature`` is given) at ``timestamp``."""
        ts = int(time.time()) if timestamp is None else timestamp
        if signature is None:
            signature = self._verifier.generate_signature(timestamp=str(ts), body=body)
            assert signature is not None
        request_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        if headers:
            request_headers.update(headers)
        return await self._http.post(self.bot_url, content=body, headers=request_headers)

    async def send_event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> httpx.Response:
        """Deliver one event in an ``event_callback`` envelope (a re-delivery with retry_num)."""
        envelope = self.payloads.event_callback(event, event_id=event_id)
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason
        body = json.dumps(envelope).encode()
        return await self.post_signed(body, content_type=_JSON, headers=headers)

    async def _deliver_command(self, fields: dict[str, str]) -> httpx.Response:
        """Form-encoded, as Slack sends a slash command."""
        return await self.post_signed(urlencode(fields).encode(), content_type=_FORM)

    async def send_block_action(self, payload: dict[str, Any]) -> httpx.Response:
        """Any interactivity payload, sent raw (form field ``payload``) and signed."""
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self.post_signed(body, content_type=_FORM)


class SocketModeDriver(_Transport[dict[str, Any]]):
    """Plays Slack's side over Socket Mode: the same payloads, as envelopes on the WebSocket.

    Needs an emulator built with ``app_token`` and an app connected to it (see
    :meth:`SlackEmulator.wait_for_socket`). Every method returns the app's acknowledgement,
    ``{"envelope_id": ..., "payload"?: ...}``, or raises AssertionError when none arrives within
    ``ack_timeout`` seconds (by default Slack's 3 s deadline).
    """

    def __init__(
        self,
        *,
        emulator: SlackEmulator,
        team_id: str = "T0TRUST",
        ack_timeout: float = 3.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if emulator.socket_mode is None:
            raise ValueError("SocketModeDriver needs an emulator built with app_token=...")
        self.emulator = emulator
        self.team_id = team_id
        self.ack_timeout = ack_timeout
        self.payloads = SlackPayloads(emulator=emulator, team_id=team_id, clock=clock)

    async def __aenter__(self) -> SocketModeDriver:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    async def aclose(self) -> None:
        """Nothing to release (the connection belongs to the emulator); for parity."""

    async def send_event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> dict[str, Any]:
        """Deliver one event in an ``events_api`` envelope (a re-delivery with retry_attempt)."""
        return await self.emulator.send_envelope(
            "events_api",
            self.payloads.event_callback(event, event_id=event_id),
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
            timeout=self.ack_timeout,
        )

    async def _deliver_command(self, fields: dict[str, str]) -> dict[str, Any]:
        """A ``slash_commands`` envelope (the ack's ``payload`` is the immediate reply)."""
        return await self.emulator.send_envelope(
            "slash_commands", dict(fields), accepts_response_payload=True, timeout=self.ack_timeout
        )

    async def send_block_action(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Any interactivity payload in an ``interactive`` envelope.

        As Slack does, only a view_submission accepts a response payload (a response_action).
        """
        return await self.emulator.send_envelope(
            "interactive",
            payload,
            accepts_response_payload=payload.get("type") == "view_submission",
            timeout=self.ack_timeout,
        )


def find_button(blocks: list[dict[str, Any]], action_id: str) -> tuple[str, dict[str, Any]]:
    """(block_id, button element) of the button ``action_id``; AssertionError when absent."""
    return find_element(blocks, action_id, "button")


def find_element(
    blocks: list[dict[str, Any]], action_id: str, kind: str
) -> tuple[str, dict[str, Any]]:
    """(block_id, element) of the `kind` element ``action_id``; AssertionError when absent."""
    for block in blocks:
        for element in _block_elements(block):
            if element.get("type") == kind and element.get("action_id") == action_id:
                return str(block.get("block_id") or _auto_block_id(block)), element
    found = [
        str(e.get("action_id")) for b in blocks for e in _block_elements(b) if e.get("type") == kind
    ]
    raise AssertionError(f"no {kind} with action_id {action_id!r} in the message; {kind}s: {found}")


def _block_elements(block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    accessory = block.get("accessory")
    if isinstance(accessory, dict):
        yield accessory
    elements = block.get("elements")
    if isinstance(elements, list):
        for element in elements:
            if isinstance(element, dict):
                yield element


def _auto_block_id(block: dict[str, Any]) -> str:
    # Slack fills in a short random block_id when the app did not set one.
    digest = json.dumps(block, sort_keys=True).encode().hex()
    return digest[:5]
