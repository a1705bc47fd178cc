"""deploy/slack/manifest.yaml must match what the code registers and calls."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from trustbot.slack import listeners

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "deploy" / "slack" / "manifest.yaml"

# The bot scope each Web API method needs (from Slack's method reference).
SCOPE_OF_METHOD = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "users.list": "users:read",
    "usergroups.users.list": "usergroups:read",
    "conversations.members": "channels:read",
    "views.open": None,  # needs only a trigger id
    "views.publish": None,  # the app's own home tab
    "conversations.open": "im:write",
    "files.upload.v2": "files:write",  # files.getUploadURLExternal + completeUploadExternal
}


class RecordingApp:
    """Stands in for AsyncApp and records what the listeners register."""

    def __init__(self) -> None:
        self.registered: dict[str, list[Any]] = {
            "command": [],
            "event": [],
            "action": [],
            "view": [],
        }

    def __getattr__(self, kind: str) -> Callable[[Any], Callable[[Any], Any]]:
        if kind not in self.registered:
            raise AttributeError(kind)

        def register(constraint: Any) -> Callable[[Any], Any]:
            self.registered[kind].append(constraint)
            return lambda function: function

        return register


def _manifest() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return data


def _registered() -> dict[str, list[Any]]:
    app = RecordingApp()
    listeners.register(app)  # type: ignore[arg-type]
    return app.registered


def test_slash_commands_match_the_code() -> None:
    commands = [entry["command"] for entry in _manifest()["features"]["slash_commands"]]

    assert sorted(commands) == sorted(_registered()["command"])


def test_event_subscriptions_match_the_code() -> None:
    events = _manifest()["settings"]["event_subscriptions"]["bot_events"]

    assert sorted(events) == sorted(_registered()["event"])


def test_interactivity_and_messages_tab_are_on() -> None:
    manifest = _manifest()

    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
    urls = [
        manifest["settings"]["interactivity"]["request_url"],
        manifest["settings"]["event_subscriptions"]["request_url"],
        *(entry["url"] for entry in manifest["features"]["slash_commands"]),
    ]
    assert all(url.endswith("/slack/events") for url in urls)


def test_the_manifest_grants_every_scope_the_code_needs() -> None:
    scopes = set(_manifest()["oauth_config"]["scopes"]["bot"])
    source = "\n".join(path.read_text() for path in (ROOT / "trustbot" / "slack").rglob("*.py"))
    called = {name.replace("_", ".") for name in re.findall(r"client\.(\w+_\w+)\(", source)}

    assert called <= SCOPE_OF_METHOD.keys(), f"scope unknown for {called - SCOPE_OF_METHOD.keys()}"
    needed = {SCOPE_OF_METHOD[method] for method in called} - {None}
    assert needed <= scopes
    assert {"commands", "reactions:read", "im:write"} <= scopes
