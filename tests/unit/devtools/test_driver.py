"""The signed request driver: captured with an httpx MockTransport, and against a real Bolt app."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.slack_spec import assert_calls_match_spec
from trustbot.devtools.driver import SlackDriver
from trustbot.devtools.emulator import EmulatedUser, LoopbackServer, SlackEmulator, StoredMessage

TOKEN = "xoxb-emulated-token"
SECRET = "emulated-signing-secret"
BOT_URL = "http://bot.test/slack/events"
VOTE_BLOCKS: list[dict[str, Any]] = [
    {"type": "section", "block_id": "intro", "text": {"type": "mrkdwn", "text": "Vote?"}},
    {
        "type": "actions",
        "block_id": "choices",
        "elements": [
            {
                "type": "button",
                "action_id": "vote",
                "text": {"type": "plain_text", "text": "Yes"},
                "value": "yes",
            }
        ],
    },
]


@pytest.fixture
async def emulator() -> AsyncIterator[SlackEmulator]:
    users = [EmulatedUser(id="U001", name="alice", real_name="Alice Archer")]
    async with SlackEmulator(bot_token=TOKEN, users=users) as emu:
        yield emu


class Captured:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json={"response_action": "clear"})

    def verify(self, request: httpx.Request) -> bool:
        return SignatureVerifier(SECRET).is_valid(
            body=request.content,
            timestamp=request.headers["X-Slack-Request-Timestamp"],
            signature=request.headers["X-Slack-Signature"],
        )


@pytest.fixture
async def captured(emulator: SlackEmulator) -> AsyncIterator[tuple[Captured, SlackDriver]]:
    cap = Captured()
    http = httpx.AsyncClient(transport=httpx.MockTransport(cap.handler))
    async with (
        http,
        SlackDriver(bot_url=BOT_URL, signing_secret=SECRET, emulator=emulator, http=http) as driver,
    ):
        yield cap, driver


def _payload(request: httpx.Request) -> dict[str, Any]:
    form = parse_qs(request.content.decode())
    assert list(form) == ["payload"]
    payload: dict[str, Any] = json.loads(form["payload"][0])
    return payload


async def test_event_envelope_is_signed(captured: tuple[Captured, SlackDriver]) -> None:
    cap, driver = captured
    resp = await driver.send_event({"type": "app_home_opened", "user": "U001"}, event_id="Ev1")
    assert resp.status_code == 200
    request = cap.requests[0]
    assert str(request.url) == BOT_URL
    assert request.headers["Content-Type"] == "application/json"
    assert cap.verify(request)
    assert abs(int(request.headers["X-Slack-Request-Timestamp"]) - time.time()) < 5
    body = json.loads(request.content)
    assert body["type"] == "event_callback"
    assert body["event_id"] == "Ev1"
    assert body["team_id"] == "T0TRUST"
    assert body["event"] == {"type": "app_home_opened", "user": "U001"}
    assert body["authorizations"][0]["user_id"] == "UTRUSTBOT"
    assert {"token", "api_app_id", "event_time", "is_ext_shared_channel", "event_context"} <= set(
        body
    )
    assert "X-Slack-Retry-Num" not in request.headers


async def test_retries_carry_retry_headers(captured: tuple[Captured, SlackDriver]) -> None:
    cap, driver = captured
    await driver.send_event({"type": "app_mention"}, event_id="Ev9", retry_num=1)
    assert cap.requests[0].headers["X-Slack-Retry-Num"] == "1"
    assert cap.requests[0].headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert cap.verify(cap.requests[0])


async def test_reaction_event(captured: tuple[Captured, SlackDriver]) -> None:
    cap, driver = captured
    message = StoredMessage(channel="D1", ts="1700000000.000100", text="t", blocks=[], user="UB")
    await driver.react(user_id="U001", message=message, reaction="heart", removed=True)
    event = json.loads(cap.requests[0].content)["event"]
    assert event["type"] == "reaction_removed"
    assert event["item"] == {"type": "message", "channel": "D1", "ts": "1700000000.000100"}
    assert (event["user"], event["item_user"], event["reaction"]) == ("U001", "UB", "heart")


async def test_slash_command_form(
    emulator: SlackEmulator, captured: tuple[Captured, SlackDriver]
) -> None:
    cap, driver = captured
    await driver.send_command(user_id="U001", text="last month")
    request = cap.requests[0]
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert cap.verify(request)
    form = {k: v[0] for k, v in parse_qs(request.content.decode(), keep_blank_values=True).items()}
    assert form["command"] == "/trust-report"
    assert form["text"] == "last month"
    assert form["user_id"] == "U001"
    assert form["user_name"] == "alice"
    assert form["channel_id"] == emulator.dm_channel_for("U001")
    assert form["response_url"].startswith(emulator.url + "/response/")
    assert form["trigger_id"]
    assert {"token", "team_id", "team_domain", "channel_name", "api_app_id"} <= set(form)


async def test_click_button_payload(
    emulator: SlackEmulator, captured: tuple[Captured, SlackDriver]
) -> None:
    cap, driver = captured
    message = StoredMessage(
        channel="D1", ts="1700000000.000100", text="Vote?", blocks=VOTE_BLOCKS, user="UTRUSTBOT"
    )
    await driver.click_button(user_id="U001", message=message, action_id="vote")
    await driver.click_button(user_id="U001", message=message, action_id="vote", value="forged")
    assert all(cap.verify(r) for r in cap.requests)
    first, second = (_payload(r) for r in cap.requests)
    assert first["type"] == "block_actions"
    assert first["user"]["id"] == "U001"
    assert first["container"] == {
        "type": "message",
        "message_ts": "1700000000.000100",
        "channel_id": "D1",
        "is_ephemeral": False,
    }
    assert first["message"]["blocks"] == VOTE_BLOCKS
    assert first["message"]["ts"] == "1700000000.000100"
    action = first["actions"][0]
    assert (action["action_id"], action["block_id"], action["value"]) == ("vote", "choices", "yes")
    assert second["actions"][0]["value"] == "forged"
    assert first["trigger_id"] != second["trigger_id"]
    with pytest.raises(AssertionError, match="no button with action_id 'nope'"):
        await driver.click_button(user_id="U001", message=message, action_id="nope")


async def test_view_submission_payload(captured: tuple[Captured, SlackDriver]) -> None:
    cap, driver = captured
    view = {"id": "V123", "type": "modal", "callback_id": "story", "private_metadata": "m"}
    values = {"story": {"text": {"type": "plain_text_input", "value": "hello"}}}
    resp = await driver.submit_view(user_id="U001", view=view, values=values)
    assert resp.json() == {"response_action": "clear"}
    payload = _payload(cap.requests[0])
    assert payload["type"] == "view_submission"
    assert payload["view"]["id"] == "V123"
    assert payload["view"]["callback_id"] == "story"
    assert payload["view"]["state"] == {"values": values}
    assert payload["response_urls"] == []


async def test_post_signed_forged_and_stale(captured: tuple[Captured, SlackDriver]) -> None:
    cap, driver = captured
    await driver.post_signed(b"{}", content_type="application/json", signature="v0=00")
    await driver.post_signed(b"{}", content_type="application/json", timestamp=1)
    forged, stale = cap.requests
    assert forged.headers["X-Slack-Signature"] == "v0=00"
    assert not cap.verify(forged)
    assert stale.headers["X-Slack-Request-Timestamp"] == "1"
    # correctly signed, but far too old: is_valid (like Bolt) rejects it for its age alone
    assert not cap.verify(stale)
    expected = SignatureVerifier(SECRET).generate_signature(timestamp="1", body=b"{}")
    assert stale.headers["X-Slack-Signature"] == expected


# --------------------------------------------------------------------------- against Bolt


def _bolt_app(emulator: SlackEmulator, submitted: list[dict[str, Any]]) -> Starlette:
    app = AsyncApp(
        signing_secret=SECRET,
        client=AsyncWebClient(token=TOKEN, base_url=emulator.base_url),
    )

    @app.event("reaction_added")
    async def on_reaction(event: dict[str, Any], client: AsyncWebClient) -> None:
        await client.chat_postMessage(
            channel=event["user"], text=f"thanks for :{event['reaction']}:", blocks=VOTE_BLOCKS
        )

    @app.action("vote")
    async def on_vote(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.chat_update(
            channel=body["container"]["channel_id"],
            ts=body["container"]["message_ts"],
            text=f"voted {body['actions'][0]['value']}",
        )

    @app.command("/trust-report")
    async def on_command(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        await respond(text="opening")
        await client.views_open(
            trigger_id=body["trigger_id"],
            view={
                "type": "modal",
                "callback_id": "story",
                "title": {"type": "plain_text", "text": "Story"},
                "submit": {"type": "plain_text", "text": "Send"},
                "blocks": [
                    {
                        "type": "input",
                        "block_id": "story",
                        "label": {"type": "plain_text", "text": "Story"},
                        "element": {"type": "plain_text_input", "action_id": "text"},
                    }
                ],
            },
        )

    @app.view("story")
    async def on_submit(ack: AsyncAck, view: dict[str, Any]) -> None:
        submitted.append(view)
        text = view["state"]["values"]["story"]["text"]["value"]
        if len(text) < 5:
            await ack(response_action="errors", errors={"story": "too short"})
        else:
            await ack()

    handler = AsyncSlackRequestHandler(app)

    async def endpoint(request: Request) -> Response:
        response: Response = await handler.handle(request)
        return response

    return Starlette(routes=[Route("/slack/events", endpoint, methods=["POST"])])


async def test_driver_against_a_real_bolt_app(emulator: SlackEmulator) -> None:
    submitted: list[dict[str, Any]] = []
    async with (
        LoopbackServer(_bolt_app(emulator, submitted)) as bot,
        SlackDriver(
            bot_url=bot.url + "/slack/events", signing_secret=SECRET, emulator=emulator
        ) as driver,
    ):
        # Bolt rejects a forged signature and a stale timestamp
        forged = await driver.post_signed(b"{}", content_type="application/json", signature="v0=1")
        assert forged.status_code == 401
        stale = await driver.post_signed(
            b"{}", content_type="application/json", timestamp=int(time.time()) - 400
        )
        assert stale.status_code == 401

        seed = StoredMessage(channel="C1", ts="1.000001", text="t", blocks=[], user="UTRUSTBOT")
        resp = await driver.react(user_id="U001", message=seed, reaction="tada")
        assert resp.status_code == 200
        await emulator.wait_for(lambda: len(emulator.messages) == 1)
        message = emulator.messages[0]
        assert message.channel == emulator.dm_channel_for("U001")

        resp = await driver.click_button(user_id="U001", message=message, action_id="vote")
        assert resp.status_code == 200
        await emulator.wait_for(lambda: message.updates == 1)
        assert message.text == "voted yes"

        resp = await driver.send_command(user_id="U001")
        assert resp.status_code == 200
        await emulator.wait_for(lambda: len(emulator.opened_views) == 1)
        assert emulator.opened_views[0]["user"] == "U001"
        assert emulator.responses[0]["body"]["text"] == "opening"

        opened = emulator.opened_views[0]
        short = {"story": {"text": {"type": "plain_text_input", "value": "hi"}}}
        resp = await driver.submit_view(user_id="U001", view=opened, values=short)
        assert resp.json() == {"response_action": "errors", "errors": {"story": "too short"}}
        long = {"story": {"text": {"type": "plain_text_input", "value": "a long story"}}}
        resp = await driver.submit_view(user_id="U001", view=opened["view"], values=long)
        assert resp.status_code == 200
        assert resp.content == b""
        # the view as the bot sent it is submitted as Slack's full view object
        assert [v["id"] for v in submitted] == [opened["id"], opened["id"]]
        assert submitted[1]["hash"] == emulator.view(opened["id"])["hash"]

    assert emulator.calls_to("auth.test")  # Bolt checked its token against the emulator
    assert_calls_match_spec(emulator.calls)
