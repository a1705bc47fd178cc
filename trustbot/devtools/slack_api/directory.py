"""Who is in the workspace: auth.test, users.*, conversations.* and usergroups.users.list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from trustbot.devtools.slack_api.workspace import (
    FIRST_TS,
    EmulatedUser,
    Handler,
    SlackApiFailure,
    Workspace,
    tz_label_and_offset,
)

__all__ = ["Directory"]


class Directory:
    """The read-mostly methods about the workspace, its people and its channels."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace

    def handlers(self) -> dict[str, Handler]:
        return {
            "auth.test": self._auth_test,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "conversations.members": self._conversations_members,
            "conversations.open": self._conversations_open,
            "usergroups.users.list": self._usergroups_users_list,
        }

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        ws = self.ws
        return {
            "url": f"https://{ws.team_domain}.slack.com/",
            "team": "Trust Emulated",
            "user": ws.users[ws.bot_user_id].name,
            "team_id": ws.team_id,
            "user_id": ws.bot_user_id,
            "bot_id": ws.bot_id,
            "is_enterprise_install": False,
        }

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.ws.user_or_fail(args.get("user"))
        return {"user": self._user_json(user, datetime.now(UTC), {})}

    def _users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        members, next_cursor = self.ws.page(list(self.ws.users.values()), args)
        now = datetime.now(UTC)
        tz_cache: dict[str, tuple[str, int]] = {}
        return {
            "members": [self._user_json(u, now, tz_cache) for u in members],
            "cache_ts": FIRST_TS,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.ws.resolve_channel(args.get("channel"), allow_user_id=False)
        members, next_cursor = self.ws.page(self.ws.members_of(channel), args)
        return {"members": members, "response_metadata": {"next_cursor": next_cursor}}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        ws = self.ws
        if args.get("channel"):
            channel = ws.resolve_channel(args["channel"], allow_user_id=False)
            return {"channel": {"id": channel}}
        raw_users = args.get("users")
        if not raw_users:
            raise SlackApiFailure("users_list_not_supplied")
        user_ids = [u.strip() for u in str(raw_users).split(",") if u.strip()]
        if len(user_ids) != 1:
            # Multi-person DMs are not emulated: trustbot only DMs one person at a time.
            raise SlackApiFailure("method_not_supported_for_channel_type")
        user = ws.dm_partner_or_fail(user_ids[0])
        already_open = user.id in ws.dm_channels
        body: dict[str, Any] = {"channel": {"id": ws.dm_channel_for(user.id)}}
        if already_open:
            body.update({"no_op": True, "already_open": True})
        return body

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args.get("usergroup") or "")
        if group not in self.ws.usergroups:
            raise SlackApiFailure("no_such_subteam")
        return {"users": list(self.ws.usergroups[group])}

    def _user_json(
        self, user: EmulatedUser, now: datetime, tz_cache: dict[str, tuple[str, int]]
    ) -> dict[str, Any]:
        """users.info's user object; ``tz_cache`` saves the zone arithmetic within one call."""
        ws = self.ws
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
            "team": ws.team_id,
        }
        if user.id == ws.bot_user_id:
            profile["bot_id"] = ws.bot_id
        return {
            "id": user.id,
            "team_id": ws.team_id,
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
            "updated": FIRST_TS,
        }
