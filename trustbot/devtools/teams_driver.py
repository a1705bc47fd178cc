"""Plays the Teams client towards the bot: activities shaped like those Teams sends to the bot's
``/api/messages``, each with a token freshly minted by the :class:`TeamsEmulator`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from trustbot.devtools.loopback import BotClient
from trustbot.devtools.teams_emulator import ADAPTIVE_CARD, SentActivity, TeamsEmulator, TeamsUser

__all__ = ["MINT", "TeamsDriver"]


class _Mint(Enum):
    TOKEN = "mint"


MINT = _Mint.TOKEN
"""The default ``token=`` of :meth:`TeamsDriver.post`: a fresh valid token from the emulator."""


class TeamsDriver(BotClient):
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
        super().__init__(http)

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
