"""The front door of /slack/events: oversized bodies get 413 before they are read whole, signed
but unusable bodies get 400 and one log line, unsigned ones 401; nothing is stored for any."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from urllib.parse import urlencode, urlsplit

import pytest

from tests.scenario.conftest import EMPLOYEES, SIGNING_SECRET, Stack
from trustbot.db.models import Anecdote, PulseAnswer, Reaction
from trustbot.slack.front_door import MAX_BODY_BYTES

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def _form(payload: object) -> bytes:
    return urlencode(
        {"payload": payload if isinstance(payload, str) else json.dumps(payload)}
    ).encode()


def _click(stack: Stack, **changes: object) -> dict[str, object]:
    message = stack.prompt_for(EMPLOYEES[0])
    payload = stack.driver.payloads.block_actions(
        user_id=EMPLOYEES[0], message=message, action_id="pulse_score:5"
    )
    payload.update(changes)
    return payload


def _without_action_field(stack: Stack, field: str) -> dict[str, object]:
    payload = _click(stack)
    action = dict(payload["actions"][0])  # type: ignore[index]
    del action[field]
    payload["actions"] = [action]
    return payload


def _reaction(stack: Stack, **changes: object) -> dict[str, object]:
    event = stack.driver.payloads.reaction(
        user_id=EMPLOYEES[0], message=stack.prompt_for(EMPLOYEES[0]), reaction="heart"
    )
    event.update(changes)
    return stack.driver.payloads.event_callback(event)


BAD_BODIES = {
    "payload that is not JSON": lambda s: (_form("{not json"), FORM),
    "payload that is a JSON array": lambda s: (_form([1, 2, 3]), FORM),
    "payload that is a JSON string": lambda s: (_form('"hello"'), FORM),
    "payload without a type": lambda s: (_form({"user": {"id": EMPLOYEES[0]}}), FORM),
    "click without a user": lambda s: (_form(_click(s, user=None)), FORM),
    "click without actions": lambda s: (_form(_click(s, actions=[])), FORM),
    "click whose action is not an object": lambda s: (_form(_click(s, actions=["x"])), FORM),
    "score click without action_ts": lambda s: (_form(_without_action_field(s, "action_ts")), FORM),
    "score click without value": lambda s: (_form(_without_action_field(s, "value")), FORM),
    "click without its message": lambda s: (
        _form(_click(s, container={}, channel=None, message=None)),
        FORM,
    ),
    "view submission without a view id": lambda s: (
        _form({"type": "view_submission", "user": {"id": EMPLOYEES[0]}, "view": {}}),
        FORM,
    ),
    "truncated JSON event": lambda s: (b'{"type": "event_callback", "event": {"type": "reac', JSON),
    "JSON body that is an array": lambda s: (b"[1, 2]", JSON),
    "event without its event": lambda s: (b'{"type": "event_callback"}', JSON),
    "reaction without event_ts": lambda s: (json.dumps(_reaction(s, event_ts=None)).encode(), JSON),
    "reaction without a user": lambda s: (json.dumps(_reaction(s, user=7)).encode(), JSON),
    "unsupported content type": lambda s: (b"hello", "text/plain"),
    "slash command without a user": lambda s: (
        urlencode({"command": "/trust-report", "response_url": "http://x/r"}).encode(),
        FORM,
    ),
}


async def _nothing_stored(stack: Stack) -> None:
    await stack.settle()
    for model in (PulseAnswer, Reaction, Anecdote):
        assert await stack.count(model) == 0, model.__name__


@pytest.mark.parametrize("case", list(BAD_BODIES))
async def test_a_signed_body_that_cannot_be_used_gets_400_and_one_log_line(
    stack: Stack, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    await stack.prompt()
    body, content_type = BAD_BODIES[case](stack)

    with caplog.at_level(logging.DEBUG):
        response = await stack.driver.post_signed(body, content_type=content_type)
        await _nothing_stored(stack)

    assert response.status_code == 400
    refusals = [r for r in caplog.records if "refused a signed Slack request" in r.getMessage()]
    assert len(refusals) == 1
    assert all(record.exc_info is None for record in caplog.records)
    assert "Traceback" not in caplog.text
    assert stack.emulator.ephemerals == []


async def test_a_well_formed_click_passes_the_same_door(stack: Stack) -> None:
    """The control for the table above: the click they are all derived from is accepted."""
    await stack.prompt()

    response = await stack.driver.post_signed(_form(_click(stack)), content_type=FORM)
    await stack.settle()

    assert response.status_code == 200
    assert await stack.count(PulseAnswer) == 1


@pytest.mark.parametrize("size", [MAX_BODY_BYTES + 1, 2 * MAX_BODY_BYTES])
async def test_a_signed_body_over_the_limit_gets_413(stack: Stack, size: int) -> None:
    await stack.prompt()
    body = _form(_click(stack, padding="x" * size))

    response = await stack.driver.post_signed(body, content_type=FORM)

    assert response.status_code == 413
    await _nothing_stored(stack)


async def test_a_chunked_body_over_the_limit_gets_413(stack: Stack) -> None:
    """No Content-Length to go by: the door counts while reading and stops at the limit."""
    await stack.prompt()

    async def chunks() -> object:
        for _ in range(3):
            yield b"x" * (MAX_BODY_BYTES // 2 + 1)

    response = await stack.driver._http.post(
        stack.driver.bot_url,
        content=chunks(),  # type: ignore[arg-type]
        headers={"Content-Type": FORM, "X-Slack-Request-Timestamp": str(int(time.time()))},
    )

    assert response.status_code == 413


async def test_a_huge_declared_body_is_refused_before_it_is_read(stack: Stack) -> None:
    """20 MB announced, a few bytes sent: the 413 comes back without waiting for the rest."""
    url = urlsplit(stack.driver.bot_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write(
            (
                f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                f"Content-Type: {FORM}\r\nContent-Length: {20 * 1024 * 1024}\r\n\r\npayload="
            ).encode()
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=5)
    finally:
        writer.close()

    assert status_line.split()[1] == b"413"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Slack-Request-Timestamp": "not-a-number", "X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": "1" * 40, "X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": ""},
    ],
)
async def test_missing_or_garbled_signature_headers_get_401(
    stack: Stack, headers: dict[str, str]
) -> None:
    await stack.prompt()

    response = await stack.driver._http.post(
        stack.driver.bot_url,
        content=_form(_click(stack)),
        headers={"Content-Type": FORM, **headers},
    )

    assert response.status_code == 401
    await _nothing_stored(stack)


def _sign_bytes(body: bytes, timestamp: int) -> str:
    """Slack's signature over raw bytes (the driver signs text only)."""
    message = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(SIGNING_SECRET.encode(), message, hashlib.sha256).hexdigest()
    return "v0=" + digest


async def test_a_body_that_is_not_utf8_gets_401_unsigned_and_400_signed(stack: Stack) -> None:
    await stack.prompt()
    body = b"payload=%7B%22type\xff\xfe"

    unsigned = await stack.driver.post_signed(body, content_type=FORM, signature="v0=" + "0" * 64)
    now = int(time.time())
    signed = await stack.driver.post_signed(
        body, content_type=FORM, timestamp=now, signature=_sign_bytes(body, now)
    )

    assert (unsigned.status_code, signed.status_code) == (401, 400)
    await _nothing_stored(stack)
