"""The emulated workspace's state that every API family reads: who is in it (users, channels,
user groups, the bot's DMs), what the bot posted and uploaded, and the ids Slack hands out."""

from __future__ import annotations

import base64
import binascii
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from trustbot.credentials import SLACK_BOT_SCOPES

__all__ = [
    "EmulatedUser",
    "Handler",
    "SlackApiFailure",
    "StoredFile",
    "StoredMessage",
    "Workspace",
    "tz_label_and_offset",
]

FIRST_TS = 1_700_000_000
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


class SlackApiFailure(Exception):
    """Raised inside a method handler to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


Handler = Callable[[dict[str, Any]], dict[str, Any]]
"""A Web API method: the call's arguments in, the answer's fields (besides ``ok``) out."""


class Workspace:
    """Identity, members and the bot's posts: the state the API families share."""

    def __init__(
        self,
        *,
        bot_token: str,
        app_token: str | None,
        users: Iterable[EmulatedUser],
        channels: Mapping[str, Iterable[str]],
        usergroups: Mapping[str, Iterable[str]],
        team_id: str,
        team_domain: str,
        bot_user_id: str,
        bot_id: str,
        app_id: str,
        page_size: int,
        include_slackbot: bool,
        url: Callable[[], str],
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.bot_token = bot_token
        self.app_token = app_token
        self.scopes: list[str] = list(SLACK_BOT_SCOPES)
        """The bot token's scopes (the manifest's): the ``x-oauth-scopes`` header of answers."""
        self.team_id = team_id
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.page_size = page_size
        self.url = url
        """The emulator's ``http://127.0.0.1:PORT`` (once it serves)."""
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

        self.messages: list[StoredMessage] = []
        """Every message the bot posted, in order."""
        self.files: dict[str, StoredFile] = {}
        """Files completed with files.completeUploadExternal, by id, in order."""
        self.dm_channels: dict[str, str] = {}  # user id -> D channel id
        self.dm_users: dict[str, str] = {}  # D channel id -> user id
        # Indexes, so that per-request lookups and a benchmark's counts stay O(1) with 10,000+
        # messages instead of scanning the lists.
        self.messages_by_channel: dict[str, list[StoredMessage]] = defaultdict(list)
        self.messages_by_key: dict[tuple[str, str], StoredMessage] = {}  # (channel, ts)
        self.files_by_channel: dict[str, list[StoredFile]] = defaultdict(list)
        self._ts_counter = itertools.count(1)
        self._id_counter = itertools.count(1)

    def new_id(self, prefix: str) -> str:
        """A fresh id with Slack's one-letter prefix (``V`` view, ``F`` file, ``D`` DM...)."""
        return f"{prefix}{next(self._id_counter):08X}"

    def new_number(self) -> int:
        return next(self._id_counter)

    def next_ts(self) -> str:
        micros = next(self._ts_counter) * 100
        return f"{FIRST_TS + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def dm_channel_for(self, user_id: str) -> str:
        """The D… id of the bot's DM with a user (stable; created on demand)."""
        channel = self.dm_channels.get(user_id)
        if channel is None:
            channel = self.new_id("D")
            self.dm_channels[user_id] = channel
            self.dm_users[channel] = user_id
        return channel

    def channel_key(self, channel: str) -> str:
        """A channel id as stored (a U… id means the bot's DM with that user)."""
        return self.dm_channels.get(channel, channel)

    def store_message(self, message: StoredMessage) -> None:
        self.messages.append(message)
        self.messages_by_channel[message.channel].append(message)
        self.messages_by_key[(message.channel, message.ts)] = message

    def message(self, channel: str, ts: str) -> StoredMessage:
        """The stored message with this channel and ts (KeyError when absent)."""
        try:
            return self.messages_by_key[(self.channel_key(channel), ts)]
        except KeyError:
            raise KeyError(f"no message {ts} in {channel}") from None

    def user_or_fail(self, user_id: Any, error: str = "user_not_found") -> EmulatedUser:
        user = self.users.get(str(user_id)) if user_id else None
        if user is None:
            raise SlackApiFailure(error)
        return user

    def dm_partner_or_fail(self, user_id: Any) -> EmulatedUser:
        """A person the bot may DM (not a bot, not deactivated)."""
        user = self.user_or_fail(user_id)
        if user.is_bot:
            raise SlackApiFailure("cannot_dm_bot")
        if user.deleted:
            raise SlackApiFailure("user_disabled")
        return user

    def resolve_channel(self, raw_channel: Any, *, allow_user_id: bool) -> str:
        """A C…/G…/D… id the emulator knows; a U…/W… user id maps to the bot's DM with them."""
        if not raw_channel:
            raise SlackApiFailure("channel_not_found")
        channel = str(raw_channel)
        if channel in self.channels or channel in self.dm_users:
            return channel
        if allow_user_id and channel in self.users:
            return self.dm_channel_for(self.dm_partner_or_fail(channel).id)
        raise SlackApiFailure("channel_not_found")

    def members_of(self, channel: str) -> list[str]:
        if channel in self.dm_users:
            return [self.dm_users[channel], self.bot_user_id]
        return list(self.channels[channel])

    def page(self, items: list[Any], args: Mapping[str, Any]) -> tuple[list[Any], str]:
        """One page of ``items`` as ``limit`` and ``cursor`` ask, and the next cursor."""
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
