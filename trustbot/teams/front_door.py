"""POST /api/messages: Microsoft's SDK behind a door that holds.

The SDK's own FastAPI adapter reads any body whole and answers 500 (with a traceback) for a body
that is not JSON, and its strict activity models answer 500 to some payloads real Teams sends:
an `installationUpdate` whose action is `add-upgrade` / `remove-upgrade`, an Action.Execute
invoke with `trigger: "automatic"`, activity types and invoke names the models do not know.
This adapter refuses oversized and unreadable bodies first (413 / 400, nothing read whole), then
rewrites those known shapes into ones the SDK accepts, so that every request still goes through
the SDK's JWT validation (401 for a bad or missing token) and nothing reaches a 500:

* an `adaptiveCard/action` invoke whose `value` or `action` is malformed (not an object, no
  `type`, `data` not an object) keeps its place but loses its verb, so the handler answers with
  a card the person can read ("this button could not be used") instead of the SDK's 500;
* an Action.Execute whose `trigger` is not `manual` (Teams' `automatic` card refresh) gets the
  verb REFRESH_VERB: the handler answers with the current card and stores nothing;
* what Teams never sends (no `type`, no `from` or `conversation` object, a `timestamp` that is
  not a date, any shape Microsoft's strict activity models refuse) is answered 400 here, before
  the SDK would log a traceback and answer 500.

JSON is parsed with limits (docs/security.md): numbers of more than MAX_NUMBER_CHARS characters
and nesting deeper than MAX_DEPTH are refused before or while parsing, so that no body costs
more than a few milliseconds to refuse.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from microsoft_teams.api.activities import ActivityTypeAdapter
from microsoft_teams.apps.events.types import CoreActivity
from microsoft_teams.apps.http.adapter import HttpMethod, HttpRouteHandler
from pydantic import ValidationError

from trustbot.safejson import UnsafeJson, loads_limited

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
HANDLED_TYPES = frozenset({"message", "conversationUpdate", "installationUpdate", "invoke"})
HANDLED_INVOKES = frozenset({"adaptiveCard/action"})
_UPGRADE_ACTIONS = {"add-upgrade": "add", "remove-upgrade": "remove"}
_CARD_ACTION_TYPES = frozenset({"Action.Execute", "Action.Submit"})
REFRESH_VERB = "trustbot.refresh"
"""The verb an Action.Execute gets when Teams, not the person, triggered it (a card refresh)."""


class TeamsFrontDoor:
    """An HttpServerAdapter for the SDK that mounts its route on trustbot's own FastAPI app."""

    def __init__(
        self,
        web: FastAPI,
        *,
        tenant_id: str | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._web = web
        self._tenant_id = tenant_id.lower() if tenant_id else None
        self._max_body_bytes = max_body_bytes

    def register_route(self, method: HttpMethod, path: str, handler: HttpRouteHandler) -> None:
        """Called by the SDK's `initialize()`: serve `path` on trustbot's app."""
        if method != "POST":
            raise ValueError(f"unsupported HTTP method {method}")

        async def messages(request: Request) -> Response:
            body = await _read_limited(request, self._max_body_bytes)
            if body is None:
                logger.warning("refused a Teams request: body over %d bytes", self._max_body_bytes)
                return JSONResponse({"error": "request body too large"}, status_code=413)
            problem = _content_type_problem(request.headers.get("content-type", ""))
            activity: Any = None
            if problem is None:
                try:
                    activity = loads_limited(body)
                except UnsafeJson as unsafe:
                    problem = str(unsafe)
            if problem is None and not isinstance(activity, dict):
                problem = "the body is not a JSON object"
            if problem is None:
                activity = sanitize(activity)
                problem = shape_problem(activity)
            if problem is not None:
                logger.warning("refused a Teams request: %s", problem)
                return JSONResponse({"error": "bad request"}, status_code=400)
            if self._tenant_id and _tenants(activity) - {self._tenant_id}:
                # The bot is single-tenant: still authenticated by the SDK, then ignored.
                logger.warning("ignored a Teams activity from another tenant")
                activity = _ignored(activity)
            result = await handler({"body": activity, "headers": dict(request.headers)})
            content = result.get("body")
            if content is None:
                return Response(status_code=result["status"])
            return JSONResponse(content=content, status_code=result["status"])

        self._web.post(path)(messages)

    def serve_static(self, path: str, directory: str) -> None:
        """trustbot serves no static files."""

    async def start(self, port: int) -> None:
        """trustbot runs uvicorn itself; the SDK never starts a server."""
        raise NotImplementedError("trustbot serves the app itself")

    async def stop(self) -> None:
        """Nothing to stop: the server is trustbot's."""


def sanitize(activity: dict[str, Any]) -> dict[str, Any]:
    """The activity in a shape Microsoft's models accept, meaning unchanged for trustbot."""
    kind = activity.get("type")
    if kind == "installationUpdate" and activity.get("action") in _UPGRADE_ACTIONS:
        return {**activity, "action": _UPGRADE_ACTIONS[activity["action"]]}
    if kind == "invoke" and activity.get("name") == "adaptiveCard/action":
        return {**activity, "value": _card_action_value(activity.get("value"))}
    if (
        isinstance(kind, str)
        and kind
        and (
            kind not in HANDLED_TYPES
            or (kind == "invoke" and activity.get("name") not in HANDLED_INVOKES)
        )
    ):
        return _ignored(activity)
    return activity


def _ignored(activity: dict[str, Any]) -> dict[str, Any]:
    """Still authenticated by the SDK, then ignored: a typing activity has no handler here."""
    kept: dict[str, Any] = {
        key: activity[key]
        for key in ("id", "serviceUrl", "channelId", "from", "conversation", "recipient")
        if key in activity
    }
    return {**kept, "type": "typing"}


def _tenants(activity: dict[str, Any]) -> set[str]:
    """The tenants an activity names (its conversation's, its channel data's), lower case."""
    named = [activity["conversation"].get("tenantId")]
    channel_data = activity.get("channelData")
    if isinstance(channel_data, dict) and isinstance(channel_data.get("tenant"), dict):
        named.append(channel_data["tenant"].get("id"))
    return {tenant.lower() for tenant in named if isinstance(tenant, str)}


def _card_action_value(value: Any) -> dict[str, Any]:
    """An invoke's value as the SDK's model takes it, keeping only what trustbot reads.

    A malformed action keeps no verb, which the handler answers with a readable card; a click
    Teams made itself (any trigger but `manual`) gets REFRESH_VERB.
    """
    value = value if isinstance(value, dict) else {}
    action = value.get("action")
    well_formed = (
        isinstance(action, dict)
        and action.get("type") in _CARD_ACTION_TYPES
        and isinstance(action.get("data", {}), dict)
        and isinstance(action.get("verb", ""), str)
    )
    if not well_formed:
        return {"action": {"type": "Action.Execute", "data": {}}}
    assert isinstance(action, dict)
    verb = action.get("verb")
    if value.get("trigger", "manual") != "manual":
        verb = REFRESH_VERB
    fixed: dict[str, Any] = {"type": action["type"], "data": action.get("data", {})}
    if verb is not None:
        fixed["verb"] = verb
    return {"action": fixed, "trigger": "manual"}


def shape_problem(activity: dict[str, Any]) -> str | None:
    """Why Microsoft's models would refuse this (sanitized) activity, or None.

    Teams never sends such an activity; checked here so that the SDK's own check (which logs a
    traceback and answers 500) never fails. Says where the problem is, never the content.
    """
    kind = activity.get("type")
    if not isinstance(kind, str) or not kind:
        return "the activity has no type"
    for field in ("from", "conversation"):
        part = activity.get(field)
        if not isinstance(part, dict) or not isinstance(part.get("id"), str):
            return f"the activity has no {field}"
    try:
        core = CoreActivity.model_validate(activity)
        ActivityTypeAdapter.validate_python(core.model_dump(by_alias=True, exclude_none=True))
    except ValidationError as error:
        where = ".".join(str(part) for part in error.errors()[0]["loc"][1:])[:80]
        return f"the activity does not fit its model (at {where or 'the top'})"
    return None


def _content_type_problem(content_type: str) -> str | None:
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind != "application/json":
        return f"unsupported content type {kind[:40]!r}"
    return None


async def _read_limited(request: Request, limit: int) -> bytes | None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
