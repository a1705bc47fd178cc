"""Messages: chat.postMessage, chat.update, chat.postEphemeral, and the response_url a slash
command or a click hands the bot."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from trustbot.devtools.slack_api.blocks import message_content
from trustbot.devtools.slack_api.workspace import (
    Handler,
    SlackApiFailure,
    StoredMessage,
    Workspace,
)

__all__ = ["Messages"]


class Messages:
    """The chat.* methods and response URLs; what the bot posted is kept in the workspace."""

    def __init__(self, workspace: Workspace, file_json: Callable[[str], dict[str, Any]]) -> None:
        self.ws = workspace
        self._file_json = file_json
        self.ephemerals: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        """Every POST to a response_url: ``{"url_id", "body"}``, in order."""
        self._response_ids: set[str] = set()

    def handlers(self) -> dict[str, Handler]:
        return {
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
        }

    def routes(self) -> list[Route]:
        return [Route("/response/{url_id}", self._response_url, methods=["POST"])]

    def messages_in(self, channel: str) -> list[StoredMessage]:
        """Messages the bot posted in a channel (a U… id means the bot's DM with that user)."""
        channel = self.ws.channel_key(channel)
        return list(self.ws.messages_by_channel.get(channel, ()))

    def message_count(self, channel: str) -> int:
        """How many messages the bot posted in a channel (a U… id means the DM), in O(1)."""
        channel = self.ws.channel_key(channel)
        return len(self.ws.messages_by_channel.get(channel, ()))

    def message_counts(self) -> dict[str, int]:
        """Messages the bot posted per channel id (only channels with at least one)."""
        return {channel: len(ms) for channel, ms in self.ws.messages_by_channel.items() if ms}

    def dm_message_counts(self) -> dict[str, int]:
        """Messages the bot posted per user id, in its DM with them: a benchmark's duplicates
        (a count above one) and losses (a user missing) show here."""
        counts: dict[str, int] = {}
        for channel, messages in self.ws.messages_by_channel.items():
            user_id = self.ws.dm_users.get(channel)
            if user_id is not None and messages:
                counts[user_id] = len(messages)
        return counts

    def new_response_url(self) -> str:
        """A response_url; POSTs to it are recorded in ``responses``."""
        url_id = self.ws.new_id("R")
        self._response_ids.add(url_id)
        return f"{self.ws.url()}/response/{url_id}"

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.ws.resolve_channel(args.get("channel"), allow_user_id=True)
        text, blocks = message_content(args)
        thread_ts = args.get("thread_ts")
        message = StoredMessage(
            channel=channel,
            ts=self.ws.next_ts(),
            text=text,
            blocks=blocks,
            user=self.ws.bot_user_id,
            thread_ts=str(thread_ts) if thread_ts else None,
        )
        self.ws.store_message(message)
        return {"channel": channel, "ts": message.ts, "message": self.message_json(message)}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.ws.resolve_channel(args.get("channel"), allow_user_id=False)
        ts = str(args.get("ts") or "")
        try:
            message = self.ws.message(channel, ts)
        except KeyError:
            raise SlackApiFailure("message_not_found") from None
        text, blocks = message_content(args)
        message.text = text
        if "blocks" in args:
            message.blocks = blocks
        message.updates += 1
        return {
            "channel": channel,
            "ts": message.ts,
            "text": message.text,
            "message": self.message_json(message),
        }

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.ws.resolve_channel(args.get("channel"), allow_user_id=True)
        user = self.ws.user_or_fail(args.get("user"))
        if user.id not in self.ws.members_of(channel):
            raise SlackApiFailure("user_not_in_channel")
        message_content(args)
        self.ephemerals.append(dict(args))
        return {"message_ts": self.ws.next_ts()}

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

    def message_json(self, message: StoredMessage) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "text": message.text,
            "user": message.user,
            "bot_id": self.ws.bot_id,
            "app_id": self.ws.app_id,
            "team": self.ws.team_id,
            "ts": message.ts,
            "blocks": message.blocks,
        }
        if message.thread_ts:
            body["thread_ts"] = message.thread_ts
        if message.updates:
            body["edited"] = {"user": message.user, "ts": message.ts}
        if message.files:
            body["files"] = [self._file_json(file_id) for file_id in message.files]
            body["upload"] = True
        return body
