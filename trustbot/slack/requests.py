"""What a signed Slack request must be before bolt and the listeners see it.

Slack sends JSON (Events API) or a form (slash commands; interactivity as a `payload` field
holding JSON). A body that does not parse, or lacks a field its type needs, is answered with
400 and one log line naming the problem (never the content) instead of a listener's traceback.
"""

from __future__ import annotations

import binascii
import re
from typing import Any
from urllib.parse import parse_qs, unquote_plus

from trustbot.safejson import UnsafeJson, loads_limited
from trustbot.slack.blocks.ids import (
    PROMPT_MENU_ACTION,
    SCORE_ACTION,
    SHARE_STORY_ACTION,
    STORY_CALLBACK,
)

# What a form encoder emits (RFC 3986 unreserved, '+' for space, '%XX' escapes), and a '%' that
# does not start an escape.
_ENCODED = re.compile(r"[A-Za-z0-9%+._~*-]+")
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")

REACTION_EVENTS = frozenset({"reaction_added", "reaction_removed"})


class BadSlackRequest(ValueError):
    """A signed request trustbot cannot use; the message says why, without its content."""


def parse_slack_body(raw: bytes, content_type: str) -> dict[str, Any]:
    """The body as bolt will read it, checked to be an object of a known shape."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadSlackRequest("body is not UTF-8") from None
    kind = content_type.split(";", 1)[0].strip().lower()
    body: Any
    if kind == "application/json":
        body = _json_object(text, "JSON body")
    elif kind == "application/x-www-form-urlencoded":
        fields = form_fields(text)
        body = _json_object(fields["payload"], "payload") if "payload" in fields else fields
    else:
        raise BadSlackRequest(f"unsupported content type {kind[:40]!r}")
    problem = shape_problem(body)
    if problem is not None:
        raise BadSlackRequest(problem)
    checked: dict[str, Any] = body
    return checked


def form_fields(text: str) -> dict[str, str]:
    """A form's fields, as parse_qs reads them (first value of each, blank ones left out).

    Slack's interactivity requests are one field, payload=<JSON>, where nearly every character
    of the JSON is escaped; urllib's unquote decodes them one by one in Python, which was a fifth
    of the server's CPU per click. A single well-formed field is decoded in C instead: with '+'
    made a space and each '%' an '=', it is quoted-printable, and binascii.a2b_qp decodes that
    (exactly, given no raw '=', whitespace or stray '%', which the checks ensure). Anything else
    takes parse_qs. tests/unit/slack/test_requests.py compares both on generated forms.
    """
    name, separator, value = text.partition("=")
    if (
        separator
        and _ENCODED.fullmatch(name)
        and _ENCODED.fullmatch(value)
        and not _LONE_PERCENT.search(text)
    ):
        decoded = binascii.a2b_qp(value.replace("+", " ").replace("%", "="))
        return {unquote_plus(name): decoded.decode("utf-8", "replace")}
    return {key: values[0] for key, values in parse_qs(text).items()}


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = loads_limited(text)
    except UnsafeJson as unsafe:
        raise BadSlackRequest(f"{what}: {unsafe}") from None
    if not isinstance(value, dict):
        raise BadSlackRequest(f"{what} is not a JSON object")
    return value


def shape_problem(body: dict[str, Any]) -> str | None:
    """What a request of this type lacks for the listener that will take it, or None."""
    if "command" in body:
        return _missing(body, "slash command", "command", "user_id", "response_url")
    kind = body.get("type")
    if not isinstance(kind, str):
        return "no request type"
    if kind == "block_actions":
        return _block_actions_problem(body)
    if kind == "view_submission":
        problem = _missing(body, kind, "user.id", "view.id", "view.callback_id")
        view = body["view"] if problem is None else {}
        if problem is None and view["callback_id"] == STORY_CALLBACK:
            problem = _missing(body, kind, "view.private_metadata", "view.state.values")
        return problem
    if kind == "event_callback":
        problem = _missing(body, kind, "event.type")
        if problem is None and body["event"]["type"] in REACTION_EVENTS:
            problem = _missing(
                body, body["event"]["type"], "event.user", "event.reaction", "event.event_ts"
            )
            item = body["event"].get("item")
            if problem is None and not isinstance(item, dict):
                problem = f"{body['event']['type']} lacks event.item"
            elif problem is None and item.get("type") == "message":
                problem = _missing(
                    body, "reaction on a message", "event.item.channel", "event.item.ts"
                )
        if problem is None and body["event"]["type"] == "app_home_opened":
            problem = _missing(body, "app_home_opened", "event.user")
        return problem
    if kind == "url_verification":
        return _missing(body, kind, "challenge")
    return None


def _block_actions_problem(body: dict[str, Any]) -> str | None:
    problem = _missing(body, "block_actions", "user.id")
    if problem is not None:
        return problem
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        return "block_actions lacks actions"
    action = actions[0]
    if not isinstance(action, dict) or not isinstance(action.get("action_id"), str):
        return "block_actions lacks actions[0].action_id"
    action_id = action["action_id"]
    if action_id == PROMPT_MENU_ACTION:
        if not isinstance(_get(action, "selected_option.value"), str):
            return f"{action_id} lacks actions[0].selected_option.value"
    elif SCORE_ACTION.match(action_id) or action_id == SHARE_STORY_ACTION:
        for field in ("value", "action_ts"):
            if not isinstance(action.get(field), str):
                return f"{action_id} lacks actions[0].{field}"
    else:
        return None  # an action of no listener: acknowledged and logged
    if action_id == SHARE_STORY_ACTION and not isinstance(body.get("trigger_id"), str):
        return f"{action_id} lacks trigger_id"
    container: dict[str, Any] = body["container"] if isinstance(body.get("container"), dict) else {}
    if not (isinstance(container.get("channel_id"), str) or _get(body, "channel.id")):
        return f"{action_id} lacks the channel"
    if not (isinstance(container.get("message_ts"), str) or _get(body, "message.ts")):
        return f"{action_id} lacks the message"
    return None


def _missing(body: dict[str, Any], what: str, *paths: str) -> str | None:
    for path in paths:
        value = _get(body, path)
        expected = dict if path.endswith("values") else str
        if not isinstance(value, expected):
            return f"{what} lacks {path}"
    return None


def _get(body: dict[str, Any], path: str) -> Any:
    node: Any = body
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node
