"""Views: modals (views.open, views.update) and App Home tabs (views.publish)."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from trustbot.devtools.slack_api.blocks import MAX_VIEW_BLOCKS, block_limit_problem
from trustbot.devtools.slack_api.workspace import Handler, SlackApiFailure, Workspace

__all__ = ["Views"]


class Views:
    """The views.* methods and the trigger ids that let the bot open a modal once."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace
        self.opened_views: list[dict[str, Any]] = []
        """``{"id", "trigger_id", "user", "view"}`` per modal opened, in order."""
        self.home_views: dict[str, dict[str, Any]] = {}
        """The App Home view published for each user id (views.publish), as Slack returns it."""
        self._views: dict[str, dict[str, Any]] = {}  # view id -> full view object
        self._by_external_id: dict[str, str] = {}  # external id -> view id
        self._opened_by_id: dict[str, dict[str, Any]] = {}  # view id -> opened_views entry
        self._home_users: dict[str, str] = {}  # Home tab view id -> user id
        self._triggers: dict[str, str | None] = {}  # unused trigger id -> user id
        self._used_triggers: set[str] = set()

    def handlers(self) -> dict[str, Handler]:
        return {
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
        }

    def view(self, view_id: str) -> dict[str, Any]:
        """The full view object (as Slack returns it) of an opened view."""
        return self._views[view_id]

    def new_trigger_id(self, user_id: str | None = None) -> str:
        """A trigger_id that views.open accepts once."""
        n = self.ws.new_number()
        trigger_id = f"{n}.{int(self.ws.team_id.encode().hex(), 16) % 10**12}.{n:032x}"
        self._triggers[trigger_id] = user_id
        return trigger_id

    def _check_view(self, view: Any) -> dict[str, Any]:
        if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
            raise SlackApiFailure("invalid_arguments")
        blocks = view.get("blocks", [])
        if not isinstance(blocks, list) or len(blocks) > MAX_VIEW_BLOCKS:
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
            "team_id": self.ws.team_id,
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
            "app_id": self.ws.app_id,
            "app_installed_team_id": self.ws.team_id,
            "bot_id": self.ws.bot_id,
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
        view_id = self.ws.new_id("V")
        full = self._full_view(view_id, view, None)
        self._store_view(full)
        entry = {"id": view_id, "trigger_id": trigger_id, "user": user_id, "view": view}
        self.opened_views.append(entry)
        self._opened_by_id[view_id] = entry
        return {"view": full}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = args.get("view_id")
        if not view_id and args.get("external_id"):
            view_id = self._by_external_id.get(str(args["external_id"]))
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
        user = self.ws.user_or_fail(args.get("user_id"))
        view = self._check_view(args.get("view"))
        if view["type"] != "home":
            raise SlackApiFailure("invalid_arguments")
        old = self.home_views.get(user.id)
        if args.get("hash") and (old is None or args["hash"] != old["hash"]):
            raise SlackApiFailure("hash_conflict")
        # One view per user's Home tab: republishing replaces it under the same id.
        view_id = old["id"] if old is not None else self.ws.new_id("V")
        full = self._full_view(view_id, view, None)
        self._store_view(full)
        self.home_views[user.id] = full
        self._home_users[view_id] = user.id
        return {"view": full}

    def _store_view(self, full: dict[str, Any]) -> None:
        """Keep a full view object, indexed by id and by external_id."""
        old = self._views.get(full["id"])
        if old is not None and self._by_external_id.get(old["external_id"]) == old["id"]:
            del self._by_external_id[old["external_id"]]
        self._views[full["id"]] = full
        if full["external_id"]:
            self._by_external_id[full["external_id"]] = full["id"]
