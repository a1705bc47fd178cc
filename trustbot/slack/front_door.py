"""Slack's request URL: size limit, signature, then a body bolt can read, then bolt.

Checks run cheapest-first and before anything is parsed: a body over the limit is refused with
413 without being read whole; a forged or stale signature gets 401; a signed body that cannot be
parsed, or lacks what its type needs, gets 400 and one log line. Only then does bolt dispatch it.
The signature is checked here, once, so the bolt app is built with its own check off.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response

from trustbot.slack.requests import BadSlackRequest, parse_slack_body

logger = logging.getLogger(__name__)

# Slack's largest payloads to trustbot (a modal or App Home view with its state) are tens of KB.
# The limit also bounds what a signed body can cost to refuse: decoding a form of 512 KiB takes
# about 3 ms of CPU, one of 1 MiB about 7 (bench/refusal_cost.py; docs/security.md).
MAX_BODY_BYTES = 512 * 1024
MAX_CLOCK_SKEW_S = 300  # Slack's rule: refuse a request signed more than five minutes away


class SlackFrontDoor:
    """Serves POST /slack/events for one bolt app."""

    def __init__(
        self, app: AsyncApp, *, signing_secret: str, max_body_bytes: int = MAX_BODY_BYTES
    ) -> None:
        self._app = app
        self._secret = signing_secret.encode()
        self._max_body_bytes = max_body_bytes

    async def handle(self, request: Request) -> Response:
        """Check, then dispatch to bolt; the status says which check failed."""
        body = await self._read_body(request)
        if body is None:
            logger.warning("refused a Slack request: body over %d bytes", self._max_body_bytes)
            return PlainTextResponse("request body too large", status_code=413)
        headers = request.headers
        if not self._signed_by_slack(
            body, headers.get("x-slack-request-timestamp", ""), headers.get("x-slack-signature", "")
        ):
            return PlainTextResponse("invalid request signature", status_code=401)
        try:
            parsed = parse_slack_body(body, headers.get("content-type", ""))
        except BadSlackRequest as problem:
            logger.warning("refused a signed Slack request: %s", problem)
            return PlainTextResponse("bad request", status_code=400)
        # bolt gets the body parsed already: decoding a form-encoded payload is the dearest step
        # of a click, and bolt would do it again. bolt reads `mode` only to decide whether to
        # check the signature itself (the door did), so the parsed-body mode is the right one.
        bolt_request = AsyncBoltRequest(
            body=parsed, query=request.url.query, headers=dict(headers), mode="socket_mode"
        )
        return to_starlette_response(await self._app.async_dispatch(bolt_request))

    def _signed_by_slack(self, body: bytes, timestamp: str, signature: str) -> bool:
        """Slack's v0 signature: HMAC-SHA256 of `v0:{timestamp}:{body}` under the secret.

        Checked over the raw bytes (slack_sdk's SignatureVerifier decodes the body as UTF-8
        first and raises on anything else, which turned a garbage body into a 500).
        """
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return False
        if abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW_S:
            return False
        expected = hmac.new(self._secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
        return hmac.compare_digest("v0=" + expected.hexdigest(), signature)

    async def _read_body(self, request: Request) -> bytes | None:
        """The body, or None as soon as it is known to exceed the limit."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_body_bytes:
            return None
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > self._max_body_bytes:
                    return None
                chunks.append(chunk)
        except ClientDisconnect:
            return b""
        return b"".join(chunks)
