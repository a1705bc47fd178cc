"""POST /api/messages: Microsoft's SDK behind a door that holds.

The SDK's own FastAPI adapter reads any body whole and answers 500 (with a traceback) for a body
that is not JSON, and its strict activity models answer 500 to some payloads real Teams sends:
an `installationUpdate` whose action is `add-upgrade` / `remove-upgrade`, an Action.Execute
invoke with `trigger: "automatic"`, activity types and invoke names the models do not know.
This adapter refuses oversized and unreadable bodies first (413 / 400, nothing read whole), then
rewrites those known shapes into ones the SDK accepts, so that every request still goes through
the SDK's JWT validation (401 for a bad or missing token) and nothing reaches a 500.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from microsoft_teams.apps.http.adapter import HttpMethod, HttpRouteHandler

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
HANDLED_TYPES = frozenset({"message", "conversationUpdate", "installationUpdate", "invoke"})
HANDLED_INVOKES = frozenset({"adaptiveCard/action"})
_UPGRADE_ACTIONS = {"add-upgrade": "add", "remove-upgrade": "remove"}


class TeamsFrontDoor:
    """An HttpServerAdapter for the SDK that mounts its route on trustbot's own FastAPI app."""

    def __init__(self, web: FastAPI, *, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self._web = web
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
            try:
                activity = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                activity = None
            if not isinstance(activity, dict):
                logger.warning("refused a Teams request: the body is not a JSON object")
                return JSONResponse({"error": "bad request"}, status_code=400)
            result = await handler({"body": sanitize(activity), "headers": dict(request.headers)})
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
        value = _object(activity.get("value"))
        action = _object(value.get("action"))
        fixed_action = {**action, "data": _object(action.get("data"))}
        fixed_value = {**value, "action": fixed_action}
        if value.get("trigger") != "manual":
            fixed_value.pop("trigger", None)
        return {**activity, "value": fixed_value}
    if kind not in HANDLED_TYPES or (
        kind == "invoke" and activity.get("name") not in HANDLED_INVOKES
    ):
        # Still authenticated by the SDK, then ignored: a typing activity has no handler here.
        kept: dict[str, Any] = {
            key: activity[key]
            for key in ("id", "serviceUrl", "channelId", "from", "conversation", "recipient")
            if key in activity
        }
        return {**kept, "type": "typing"}
    return activity


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


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
