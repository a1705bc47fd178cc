"""The hostile corpus for Slack's front door (/slack/events): forged, stale, malformed, tampered
and absurd requests, one table. Each case asserts the exact answer (status, body, and what the
person is told, if anything), that the database is exactly as before, and that no ERROR line,
traceback or carried text reached the log. docs/security.md says how to add a case.

One stack (emulator, bot, database) serves the whole module per backend: every case leaves the
database as it found it, which each case checks, so no case needs a fresh one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import pytest_asyncio

from tests.conftest import BACKENDS, FixedClock
from tests.scenario.conftest import (
    EMPLOYEES,
    MANAGER,
    OUTSIDER,
    SIGNING_SECRET,
    Stack,
    running_stack,
)
from tests.scenario.hostile import MARKER, assert_clean_log, empty_database, ids_of, snapshot
from trustbot.core.interactions import Reply
from trustbot.core.reports import DEFAULT_WEEKS, MAX_WEEKS
from trustbot.devtools.driver import find_button
from trustbot.logsetup import RefusalIsNoError, WithholdLibraryDetails
from trustbot.slack.blocks.story import StoryContext, story_errors
from trustbot.slack.front_door import MAX_BODY_BYTES
from trustbot.slack.listeners.context import SLACK_COMMANDS

pytestmark = pytest.mark.asyncio(loop_scope="module")

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
ME, OTHER = EMPLOYEES[0], EMPLOYEES[1]
BAD_ACTION = Reply("error.bad_action", "en").text(SLACK_COMMANDS)
UNKNOWN_ROUND = Reply("error.unknown_round", "en").text(SLACK_COMMANDS)
USAGE = Reply("report.usage", "en", {"max": MAX_WEEKS, "default": DEFAULT_WEEKS}).text(
    SLACK_COMMANDS
)
REFUSED = Reply("report.refused", "en").text(SLACK_COMMANDS)
UNSIGNED = (401, "invalid request signature")
BAD = (400, "bad request")
TOO_LARGE = (413, "request body too large")
UNHANDLED = (404, '{"error": "unhandled request"}')  # bolt's answer to what Slack never sends
ROUND_GONE = {
    "response_action": "errors",
    "errors": story_errors(Reply("story.error.round_gone", "en").text(SLACK_COMMANDS)),
}


@dataclass(frozen=True)
class Case:
    """One hostile request and everything the bot must answer to it."""

    name: str
    send: Callable[[Stack], Awaitable[httpx.Response]]
    status: int
    body: str | dict[str, Any] | None = None  # the HTTP body: text, or JSON (a view's errors)
    told: list[str] = field(default_factory=list)  # what the person then reads, in order


# ------------------------------------------------------------------ building requests


def _prompt(stack: Stack, user: str = ME) -> Any:
    return stack.prompt_for(user)


def _round(stack: Stack) -> int:
    _, button = find_button(_prompt(stack).blocks, "pulse_score:5")
    return int(str(button["value"]).split(":")[0])


def _now(stack: Stack) -> float:
    return stack.clock.now.timestamp()


def _click(stack: Stack, user: str = ME, on: str = ME, **action: Any) -> dict[str, Any]:
    """A score click by `user` on `on`'s prompt, the action's fields changed."""
    payload = stack.driver.payloads.block_actions(
        user_id=user, message=_prompt(stack, on), action_id="pulse_score:5"
    )
    changed = {**payload["actions"][0], **action}
    payload["actions"] = [{key: value for key, value in changed.items() if value is not DROP}]
    return payload


DROP = object()


def _form(payload: Any) -> bytes:
    return urlencode(
        {"payload": payload if isinstance(payload, str) else json.dumps(payload)}
    ).encode()


def signed(build: Callable[[Stack], bytes], content_type: str = FORM) -> Callable[..., Any]:
    """Send what `build` makes, correctly signed now."""

    async def send(stack: Stack) -> httpx.Response:
        raw, at = build(stack), int(time.time())
        return await stack.driver.post_signed(
            raw, content_type=content_type, timestamp=at, signature=_signature(raw, at)
        )

    return send


def payload(build: Callable[[Stack], Any]) -> Callable[..., Any]:
    """Send an interactivity payload (form field `payload`), correctly signed."""
    return signed(lambda stack: _form(build(stack)))


def event(build: Callable[[Stack], dict[str, Any]]) -> Callable[..., Any]:
    """Send an Events API envelope around the event `build` makes, correctly signed."""
    return signed(
        lambda stack: json.dumps(stack.driver.payloads.event_callback(build(stack))).encode(), JSON
    )


def command(text_: str, user: str = MANAGER, name: str = "/trust-report") -> Callable[..., Any]:
    """A slash command, correctly signed."""

    async def send(stack: Stack) -> httpx.Response:
        return await stack.driver.send_command(user_id=user, command=name, text=text_)

    return send


def with_headers(
    headers: Callable[[Stack, bytes], dict[str, str]], body: Callable[[Stack], bytes] | None = None
) -> Callable[..., Any]:
    """A well-formed click sent with the headers made by `headers` (from the body's bytes)."""

    async def send(stack: Stack) -> httpx.Response:
        raw = body(stack) if body else _form(_click(stack))
        return await stack.driver._http.post(
            stack.driver.bot_url, content=raw, headers={"Content-Type": FORM, **headers(stack, raw)}
        )

    return send


def _signature(raw: bytes, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    digest = hmac.new(secret.encode(), b"v0:%d:" % timestamp + raw, hashlib.sha256).hexdigest()
    return "v0=" + digest


def _signed_at(
    offset: int, secret: str = SIGNING_SECRET
) -> Callable[[Stack, bytes], dict[str, str]]:
    def headers(stack: Stack, raw: bytes) -> dict[str, str]:
        at = int(time.time()) + offset
        return {
            "X-Slack-Request-Timestamp": str(at),
            "X-Slack-Signature": _signature(raw, at, secret),
        }

    return headers


def _header_values(timestamp: str, signature: str) -> Callable[[Stack, bytes], dict[str, str]]:
    return lambda stack, raw: {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }


def _nested(depth: int) -> str:
    return '{"type": "block_actions", "x": ' + "[" * depth + "]" * depth + "}"


def _view(
    stack: Stack, metadata: str, callback: str = "story_submit", words: str = MARKER
) -> dict[str, Any]:
    values: dict[str, dict[str, dict[str, Any]]] = {
        "story": {"text": {"type": "plain_text_input", "value": words}},
        "visibility": {
            "choice": {"type": "radio_buttons", "selected_option": {"value": "anonymous"}}
        },
    }
    view = {
        "id": "V0HOSTILE",
        "type": "modal",
        "callback_id": callback,
        "private_metadata": metadata,
    }
    return stack.driver.payloads.view_submission(user_id=ME, view=view, values=values)


def _metadata(stack: Stack, **changes: Any) -> str:
    message = _prompt(stack)
    context = json.loads(StoryContext(_round(stack), message.channel, message.ts).encode())
    return json.dumps({**context, **changes})


def _reaction(stack: Stack, on: str = ME, **changes: Any) -> dict[str, Any]:
    reaction = stack.driver.payloads.reaction(
        user_id=ME, message=_prompt(stack, on), reaction="heart"
    )
    return {**reaction, **changes}


def _round_value(stack: Stack, value: str) -> str:
    return value.replace("R", str(_round(stack)))


def _value(template: str) -> Callable[[Stack], dict[str, Any]]:
    return lambda stack: _click(stack, value=_round_value(stack, template))


CASES = [
    # -------------------------------------------------------------- signatures and replays
    Case("no signature headers", with_headers(lambda stack, raw: {}), *UNSIGNED),
    Case("timestamp not a number", with_headers(_header_values("soon", "v0=00")), *UNSIGNED),
    Case("timestamp of 40 digits", with_headers(_header_values("1" * 40, "v0=00")), *UNSIGNED),
    Case(
        "timestamp with a sign",
        with_headers(_header_values(f"+{int(time.time())}", "v0=00")),
        *UNSIGNED,
    ),
    Case(
        "empty signature",
        with_headers(
            lambda s, r: {
                "X-Slack-Request-Timestamp": str(int(time.time())),
                "X-Slack-Signature": "",
            }
        ),
        *UNSIGNED,
    ),
    Case(
        "forged signature",
        with_headers(
            lambda s, r: {
                "X-Slack-Request-Timestamp": str(int(time.time())),
                "X-Slack-Signature": "v0=" + "0" * 64,
            }
        ),
        *UNSIGNED,
    ),
    Case(
        "signed with another secret", with_headers(_signed_at(0, "another-apps-secret")), *UNSIGNED
    ),
    Case("stale: signed 301 s ago", with_headers(_signed_at(-301)), *UNSIGNED),
    Case("signed 301 s in the future", with_headers(_signed_at(301)), *UNSIGNED),
    Case(
        "replayed signature on another body",
        with_headers(lambda s, r: _signed_at(0)(s, r + b"&x=1"), None),
        *UNSIGNED,
    ),
    Case(
        "signature in upper case",
        with_headers(
            lambda s, r: {
                k: v.upper() if k.endswith("Signature") else v
                for k, v in _signed_at(0)(s, r).items()
            }
        ),
        *UNSIGNED,
    ),
    Case(
        "v1 signature scheme",
        with_headers(
            lambda s, r: {k: v.replace("v0=", "v1=") for k, v in _signed_at(0)(s, r).items()}
        ),
        *UNSIGNED,
    ),
    # -------------------------------------------------------------- bodies and content types
    Case("text/plain", signed(lambda s: _form(_click(s)), "text/plain"), *BAD),
    Case(
        "multipart/form-data",
        signed(lambda s: _form(_click(s)), "multipart/form-data; boundary=x"),
        *BAD,
    ),
    Case("application/xml", signed(lambda s: b"<payload/>", "application/xml"), *BAD),
    Case("no content type", signed(lambda s: _form(_click(s)), ""), *BAD),
    Case("empty form", signed(lambda s: b""), *BAD),
    Case("body not UTF-8", signed(lambda s: b"payload=%7B\xff\xfe"), *BAD),
    Case("payload not JSON", payload(lambda s: "{not json"), *BAD),
    Case("payload truncated", payload(lambda s: json.dumps(_click(s))[:200]), *BAD),
    Case("payload a JSON array", payload(lambda s: [1, 2, 3]), *BAD),
    Case("payload a JSON string", payload(lambda s: '"block_actions"'), *BAD),
    Case("payload without a type", payload(lambda s: {"user": {"id": ME}}), *BAD),
    Case(
        "payload with a number 1e999",
        payload(lambda s: '{"type": "block_actions", "n": 1e999}'),
        *BAD,
    ),
    Case(
        "payload with a 5,000-digit number",
        payload(lambda s: '{"type": "block_actions", "n": ' + "9" * 5000 + "}"),
        *BAD,
    ),
    Case("payload with NaN", payload(lambda s: '{"type": "block_actions", "n": NaN}'), *BAD),
    Case("payload nested 100 deep", payload(lambda s: _nested(100)), *BAD),
    Case("payload nested 50,000 deep", payload(lambda s: _nested(50_000)), *BAD),
    Case(
        "payload of 30,000 tokens",
        payload(lambda s: '{"type": "block_actions", "x": [' + ",".join(["0"] * 30_000) + "]}"),
        *BAD,
    ),
    Case(
        "body over the limit",
        payload(lambda s: {**_click(s), "padding": "x" * MAX_BODY_BYTES}),
        *TOO_LARGE,
    ),
    Case(
        "JSON event truncated",
        signed(lambda s: b'{"type": "event_callback", "event": {"type": "reac', JSON),
        *BAD,
    ),
    Case("JSON body an array", signed(lambda s: b"[1, 2]", JSON), *BAD),
    Case(
        "event callback without its event",
        signed(lambda s: b'{"type": "event_callback"}', JSON),
        *BAD,
    ),
    Case(
        "event that is a list",
        signed(lambda s: b'{"type": "event_callback", "event": []}', JSON),
        *BAD,
    ),
    Case(
        "url_verification without a challenge",
        signed(lambda s: b'{"type": "url_verification"}', JSON),
        *BAD,
    ),
    # -------------------------------------------------------------- tampered button values
    Case("score value not a pair", payload(_value("abc")), 200, told=[BAD_ACTION]),
    Case("score 9", payload(_value("R:9")), 200, told=[BAD_ACTION]),
    Case("score 0", payload(_value("R:0")), 200, told=[BAD_ACTION]),
    Case("negative round", payload(_value("-1:3")), 200, told=[BAD_ACTION]),
    Case("round 2**70", payload(_value(f"{2**70}:3")), 200, told=[BAD_ACTION]),
    Case("score as a float", payload(_value("R:5.0")), 200, told=[BAD_ACTION]),
    Case("score as a boolean word", payload(_value("R:true")), 200, told=[BAD_ACTION]),
    Case("empty value", payload(_value("")), 200, told=[BAD_ACTION]),
    Case("Arabic-Indic digits", payload(_value("٣:٣")), 200, told=[BAD_ACTION]),
    Case("a round that does not exist", payload(_value("999999:3")), 200, told=[UNKNOWN_ROUND]),
    Case("value a JSON number", payload(lambda s: _click(s, value=5)), *BAD),
    Case("value null", payload(lambda s: _click(s, value=None)), *BAD),
    Case("value a list", payload(lambda s: _click(s, value=["1:5"])), *BAD),
    Case("value true", payload(lambda s: _click(s, value=True)), *BAD),
    Case("value missing", payload(lambda s: _click(s, value=DROP)), *BAD),
    # -------------------------------------------------------------- action times
    Case(
        "action_ts not a number",
        payload(lambda s: _click(s, action_ts="soon")),
        200,
        told=[BAD_ACTION],
    ),
    Case(
        "action_ts Infinity",
        payload(lambda s: _click(s, action_ts="Infinity")),
        200,
        told=[BAD_ACTION],
    ),
    Case(
        "action_ts 1e999990",
        payload(lambda s: _click(s, action_ts="1e999990")),
        200,
        told=[BAD_ACTION],
    ),
    Case(
        "action_ts 400 s ahead",
        payload(lambda s: _click(s, action_ts=f"{_now(s) + 400:.6f}")),
        200,
        told=[UNKNOWN_ROUND],
    ),
    Case(
        "action_ts next year",
        payload(lambda s: _click(s, action_ts=f"{_now(s) + 366 * 86400:.6f}")),
        200,
        told=[UNKNOWN_ROUND],
    ),
    Case(
        "action_ts before the round opened",
        payload(lambda s: _click(s, action_ts=f"{_now(s) - 3600:.6f}")),
        200,
        told=[UNKNOWN_ROUND],
    ),
    Case("action_ts a JSON number", payload(lambda s: _click(s, action_ts=_now(s))), *BAD),
    # -------------------------------------------------------------- whose prompt, which action
    Case(
        "someone else's prompt",
        payload(lambda s: _click(s, user=ME, on=OTHER)),
        200,
        "",
    ),
    Case(
        "forged user on my prompt",
        payload(lambda s: _click(s, user=OTHER, on=ME)),
        200,
        "",
    ),
    Case(
        "another workspace's person",
        payload(
            lambda s: {
                **_click(s, user="U0ELSEWHERE"),
                "team": {"id": "T0OTHER", "domain": "other"},
            }
        ),
        200,
        "",
    ),
    Case("unknown action_id", payload(lambda s: _click(s, action_id=f"drop_tables_{MARKER}")), 200),
    Case(
        "score action_id out of range",
        payload(lambda s: _click(s, action_id="pulse_score:99")),
        200,
    ),
    Case(
        "share_story with a word",
        payload(lambda s: _click(s, action_id="share_story", value=MARKER)),
        200,
        told=[UNKNOWN_ROUND],
    ),
    Case(
        "share_story round 2**70",
        payload(lambda s: _click(s, action_id="share_story", value=str(2**70))),
        200,
        told=[UNKNOWN_ROUND],
    ),
    Case(
        "menu option unknown",
        payload(
            lambda s: _click(
                s, action_id="prompt_menu", type="overflow", selected_option={"value": MARKER}
            )
        ),
        200,
    ),
    Case(
        "menu option missing",
        payload(lambda s: _click(s, action_id="prompt_menu", type="overflow")),
        *BAD,
    ),
    # -------------------------------------------------------------- tampered modals
    Case("private_metadata not JSON", payload(lambda s: _view(s, "{not json")), 200, ROUND_GONE),
    Case("private_metadata a list", payload(lambda s: _view(s, "[1, 2]")), 200, ROUND_GONE),
    Case(
        "private_metadata round a string",
        payload(lambda s: _view(s, _metadata(s, r="1"))),
        200,
        ROUND_GONE,
    ),
    Case(
        "private_metadata round true",
        payload(lambda s: _view(s, _metadata(s, r=True))),
        200,
        ROUND_GONE,
    ),
    Case(
        "private_metadata round 2**70",
        payload(lambda s: _view(s, _metadata(s, r=2**70))),
        200,
        ROUND_GONE,
    ),
    Case(
        "private_metadata round -1",
        payload(lambda s: _view(s, _metadata(s, r=-1))),
        200,
        ROUND_GONE,
    ),
    Case(
        "private_metadata of a round that does not exist",
        payload(lambda s: _view(s, _metadata(s, r=999999))),
        200,
        ROUND_GONE,
    ),
    Case("private_metadata empty", payload(lambda s: _view(s, "")), 200, ROUND_GONE),
    Case(
        "view without state",
        payload(
            lambda s: {
                **_view(s, "{}"),
                "view": {"id": "V0", "callback_id": "story_submit", "private_metadata": "{}"},
            }
        ),
        *BAD,
    ),
    Case(
        "unknown callback_id",
        payload(lambda s: _view(s, "{}", callback=f"admin_{MARKER}")),
        *UNHANDLED,
    ),
    # -------------------------------------------------------------- slash commands
    Case("/trust-report 99999999999999999999", command("99999999999999999999"), 200, told=[USAGE]),
    Case("/trust-report -5", command("-5"), 200, told=[USAGE]),
    Case("/trust-report 0", command("0"), 200, told=[USAGE]),
    Case("/trust-report 1e9", command("1e9"), 200, told=[USAGE]),
    Case("/trust-report <!channel>", command("<!channel> team=<!everyone>"), 200, told=[USAGE]),
    Case("/trust-report rule=2**70", command(f"rule={2**70}"), 200, told=[USAGE]),
    Case("/trust-report 10,000 right-to-left marks", command("\u202e" * 10_000), 200, told=[USAGE]),
    Case("/trust-report by a non-viewer", command("4", user=OUTSIDER), 200, told=[REFUSED]),
    Case("unknown command", command(MARKER, name="/trust-admin"), *UNHANDLED),
    Case(
        "command without response_url",
        signed(lambda s: urlencode({"command": "/trust-report", "user_id": MANAGER}).encode()),
        *BAD,
    ),
    # -------------------------------------------------------------- events
    Case(
        "reaction dated 400 s ahead",
        event(lambda s: _reaction(s, event_ts=f"{_now(s) + 400:.6f}")),
        200,
        "",
    ),
    Case(
        "reaction dated before the round",
        event(lambda s: _reaction(s, event_ts=f"{_now(s) - 3600:.6f}")),
        200,
        "",
    ),
    Case("reaction dated Infinity", event(lambda s: _reaction(s, event_ts="Infinity")), 200, ""),
    Case("reaction on someone else's prompt", event(lambda s: _reaction(s, on=OTHER)), 200, ""),
    Case(
        "reaction of 10,000 characters elsewhere",
        event(lambda s: _reaction(s, on=OTHER, reaction="x" * 10_000)),
        200,
        "",
    ),
    Case(
        "unknown event type", event(lambda s: {"type": f"admin_{MARKER}", "user": ME}), *UNHANDLED
    ),
]


@pytest.fixture(scope="module", params=BACKENDS)
def backend_url(request: pytest.FixtureRequest) -> str:
    """A migrated database for the module, once per backend."""
    return str(request.getfixturevalue(f"{request.param}_database"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(backend_url: str) -> AsyncIterator[Stack]:
    """One stack for the module, with this week's prompts sent (nobody has answered)."""
    await empty_database(backend_url)
    clock = FixedClock(datetime(2026, 11, 26, 10, 0, tzinfo=UTC), ticking=True)
    async with running_stack(backend_url, clock) as stack:
        await stack.prompt()
        yield stack


@pytest.mark.parametrize("case", CASES, ids=ids_of(CASES))
async def test_a_hostile_request_gets_its_exact_answer_and_changes_nothing(
    shared: Stack, case: Case, caplog: pytest.LogCaptureFixture
) -> None:
    stack = shared
    before = await snapshot(stack.services)
    told_before = len(stack.emulator.ephemerals), len(stack.emulator.responses)

    for serve_filter in (RefusalIsNoError(), WithholdLibraryDetails()):  # as `serve` logs
        caplog.handler.addFilter(serve_filter)
    with caplog.at_level(logging.DEBUG):
        response = await case.send(stack)
        await stack.settle()

    assert response.status_code == case.status
    if isinstance(case.body, dict):
        assert response.json() == case.body
    elif case.body is not None:
        assert response.text == case.body
    ephemerals = stack.emulator.ephemerals[told_before[0] :]
    responses = stack.emulator.responses[told_before[1] :]
    told = [str(sent["text"]) for sent in ephemerals] + [
        str(sent["body"].get("text")) for sent in responses
    ]
    assert told == case.told
    assert await snapshot(stack.services) == before
    assert_clean_log(caplog, ME, OTHER, MANAGER, OUTSIDER)


async def test_the_corpus_is_large_enough() -> None:  # async: the module's loop mark
    """Issue 16 asks for at least 60 Slack cases."""
    assert len(CASES) >= 60
    assert len({case.name for case in CASES}) == len(CASES)
