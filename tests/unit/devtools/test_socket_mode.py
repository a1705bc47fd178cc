"""The emulator's Socket Mode side, driven by slack_sdk's own aiohttp SocketModeClient."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from trustbot.devtools.driver import SocketModeDriver
from trustbot.devtools.emulator import EmulatedUser, SlackEmulator, StoredMessage

TOKEN = "xoxb-socket-unit-token"
APP_TOKEN = "xapp-1-A0TRUSTBOT-socket-unit"
USER = "U0SOCK"


@pytest.fixture
async def emulator() -> AsyncIterator[SlackEmulator]:
    users = [EmulatedUser(id=USER, name="sock", real_name="Sam Socket")]
    async with SlackEmulator(bot_token=TOKEN, app_token=APP_TOKEN, users=users) as emu:
        yield emu


def socket_client(emulator: SlackEmulator, app_token: str = APP_TOKEN) -> SocketModeClient:
    return SocketModeClient(
        app_token=app_token,
        web_client=AsyncWebClient(base_url=emulator.base_url),
        auto_reconnect_enabled=False,
    )


async def ack_with(client: SocketModeClient, payload: dict[str, Any] | None = None) -> None:
    async def listener(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        await client.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload=payload)
        )

    client.socket_mode_request_listeners.append(listener)


async def test_apps_connections_open_needs_the_app_token(emulator: SlackEmulator) -> None:
    web = AsyncWebClient(base_url=emulator.base_url)

    opened = await web.apps_connections_open(app_token=APP_TOKEN)

    url = str(opened["url"])
    assert url.startswith(emulator.socket_mode.url + "/link/?ticket=")  # type: ignore[union-attr]
    assert url.startswith("ws://127.0.0.1:")
    with pytest.raises(SlackApiError) as refused:
        await web.apps_connections_open(app_token=TOKEN)
    assert refused.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as wrong_kind:
        await AsyncWebClient(token=APP_TOKEN, base_url=emulator.base_url).auth_test()
    assert wrong_kind.value.response["error"] == "invalid_auth"
    assert [(c.method, c.ok) for c in emulator.calls] == [
        ("apps.connections.open", True),
        ("apps.connections.open", False),
        ("auth.test", False),
    ]


async def test_without_an_app_token_there_is_no_socket_mode() -> None:
    async with SlackEmulator(bot_token=TOKEN) as emulator:
        with pytest.raises(SlackApiError) as refused:
            await AsyncWebClient(base_url=emulator.base_url).apps_connections_open(
                app_token=APP_TOKEN
            )
        assert refused.value.response["error"] == "invalid_auth"
        assert emulator.socket_mode is None
        assert not emulator.socket_connected
        assert emulator.socket_acks == []
        with pytest.raises(RuntimeError, match="app_token"):
            await emulator.send_envelope("events_api", {})
        with pytest.raises(ValueError, match="app_token"):
            SocketModeDriver(emulator=emulator)


async def test_hello_then_envelopes_and_their_acks(emulator: SlackEmulator) -> None:
    client = socket_client(emulator)
    received: list[dict[str, Any]] = []

    async def record(_: AsyncBaseSocketModeClient, message: dict[str, Any], __: Any) -> None:
        received.append(message)

    client.message_listeners.append(record)
    await ack_with(client, {"text": "on it"})
    try:
        assert not emulator.socket_connected
        await client.connect()
        await emulator.wait_for_socket(timeout=5)
        assert emulator.socket_connected

        ack = await emulator.send_envelope(
            "slash_commands", {"command": "/trust-report"}, accepts_response_payload=True
        )
    finally:
        await client.close()

    hello, envelope = received
    assert hello["type"] == "hello"
    assert hello["connection_info"] == {"app_id": emulator.app_id}
    assert envelope == {
        "envelope_id": ack["envelope_id"],
        "type": "slash_commands",
        "payload": {"command": "/trust-report"},
        "accepts_response_payload": True,
    }
    assert ack == {"envelope_id": envelope["envelope_id"], "payload": {"text": "on it"}}
    assert emulator.socket_acks == [ack]
    assert emulator.socket_mode is not None
    sent = emulator.socket_mode.envelopes[0]
    assert (sent.type, sent.ack) == ("slash_commands", ack)
    assert emulator.socket_mode.acks_for(sent.envelope_id) == [ack]


async def test_an_unacknowledged_envelope_fails_with_an_explanation(
    emulator: SlackEmulator,
) -> None:
    client = socket_client(emulator)  # no request listener: nothing ever acks
    try:
        await client.connect()
        await emulator.wait_for_socket(timeout=5)
        with pytest.raises(
            AssertionError, match=r"did not acknowledge interactive envelope .+0\.2 s"
        ):
            await emulator.send_envelope("interactive", {"type": "block_actions"}, timeout=0.2)
    finally:
        await client.close()


async def test_sending_needs_a_connection_and_a_known_type(emulator: SlackEmulator) -> None:
    with pytest.raises(AssertionError, match="no app is connected"):
        await emulator.send_envelope("events_api", {})
    with pytest.raises(ValueError, match="unknown envelope type"):
        await emulator.send_envelope("hello", {})
    with pytest.raises(AssertionError, match=r"no Socket Mode connection within 0\.05 s"):
        await emulator.wait_for_socket(timeout=0.05)


async def test_a_ticket_works_once(emulator: SlackEmulator) -> None:
    assert emulator.socket_mode is not None
    url = emulator.socket_mode.issue_url()
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as ws:
            hello = await ws.receive_json(timeout=5)
            assert hello["type"] == "hello"
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await session.ws_connect(url)
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await session.ws_connect(emulator.socket_mode.url + "/link/?ticket=forged")
    assert emulator.socket_mode.connection_count == 1


async def test_stopping_the_emulator_closes_the_connection() -> None:
    emulator = SlackEmulator(bot_token=TOKEN, app_token=APP_TOKEN)
    await emulator.start()
    assert emulator.socket_mode is not None
    try:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(emulator.socket_mode.issue_url())
            await emulator.wait_for_socket(timeout=5)
            assert (await ws.receive_json(timeout=5))["type"] == "hello"
            await emulator.stop()
            closing = await ws.receive(timeout=5)
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            await ws.close()
    finally:
        await emulator.stop()
    assert not emulator.socket_connected


async def test_the_socket_mode_driver_through_a_bolt_app(emulator: SlackEmulator) -> None:
    """The driver's payloads as Bolt sees them over Socket Mode, acks included."""
    app = AsyncApp(
        client=AsyncWebClient(token=TOKEN, base_url=emulator.base_url),
        request_verification_enabled=False,
    )
    seen: list[str] = []

    @app.action("vote")
    async def vote(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        seen.append(f"{body['user']['id']} voted {body['actions'][0]['value']}")
        await respond("thanks")

    @app.command("/trust-report")
    async def report(ack: AsyncAck, command: dict[str, Any]) -> None:
        seen.append(f"{command['user_id']} asked in {command['channel_id']}")
        await ack(text="not for you")

    @app.event("reaction_added")
    async def reacted(event: dict[str, Any]) -> None:
        seen.append(f"{event['user']} reacted {event['reaction']}")

    handler = AsyncSocketModeHandler(app, APP_TOKEN)
    message = StoredMessage(
        channel=emulator.dm_channel_for(USER),
        ts="1700000000.000100",
        text="Vote?",
        blocks=[
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
            }
        ],
        user=emulator.bot_user_id,
    )
    try:
        await handler.connect_async()  # type: ignore[no-untyped-call]
        await emulator.wait_for_socket(timeout=5)
        async with SocketModeDriver(emulator=emulator, ack_timeout=5) as driver:
            clicked = await driver.click_button(user_id=USER, message=message, action_id="vote")
            commanded = await driver.send_command(user_id=USER)
            reaction = await driver.react(user_id=USER, message=message, reaction="tada")
        await emulator.wait_for(lambda: len(emulator.responses) == 1 and len(seen) == 3)
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]

    assert clicked == {"envelope_id": clicked["envelope_id"]}
    assert commanded["payload"] == {"text": "not for you"}
    assert reaction == {"envelope_id": reaction["envelope_id"]}
    assert sorted(seen) == sorted(
        [
            f"{USER} voted yes",
            f"{USER} asked in {emulator.dm_channel_for(USER)}",
            f"{USER} reacted tada",
        ]
    )
    assert emulator.responses[0]["body"]["text"] == "thanks"
    assert [e.type for e in emulator.socket_mode.envelopes] == [  # type: ignore[union-attr]
        "interactive",
        "slash_commands",
        "events_api",
    ]
    assert len(emulator.socket_acks) == 3
