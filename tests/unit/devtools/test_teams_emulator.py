"""The Teams emulator and driver over real HTTP: JWKS and tokens, connector, failures, shapes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.teams_cards import ADAPTIVE_CARD, cards_in, validate_adaptive_card
from trustbot.devtools.loopback import LoopbackServer
from trustbot.devtools.teams_driver import TeamsDriver
from trustbot.devtools.teams_emulator import (
    BOT_FRAMEWORK_ISSUER,
    TeamsEmulator,
    TeamsUser,
    new_signing_key,
)

APP_ID = "0b7c3f1e-2d4a-4e5b-8c6d-7e8f9a0b1c2d"
ALICE = TeamsUser(aad_object_id="aaaaaaaa-1111-4111-8111-000000000001", name="Alice Archer")
BOB = TeamsUser(
    aad_object_id="bbbbbbbb-2222-4222-8222-000000000002", name="Bob Baker", timezone="Asia/Tokyo"
)
CARD: dict[str, Any] = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [
        {"type": "TextBlock", "text": "How much do you trust your team?", "wrap": True},
        {
            "type": "Input.ChoiceSet",
            "id": "score",
            "style": "compact",
            "choices": [{"title": str(n), "value": str(n)} for n in range(1, 6)],
        },
    ],
    "actions": [
        {
            "type": "Action.Execute",
            "title": "Send",
            "verb": "answer",
            "data": {"prompt": 7},
            "fallback": {"type": "Action.Submit", "title": "Send", "data": {"prompt": 7}},
        }
    ],
}
PNG = (  # a 1x1 PNG
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAcC"
    "BlCwAAAABJRU5ErkJggg=="
)
# A message as the Microsoft 365 Agents Playground sent it (REPORT.md Q8), trimmed of values.
PLAYGROUND_MESSAGE: dict[str, Any] = {
    "type": "message",
    "text": "hello bot",
    "id": "4b67acca-bccf-4cbf-9130-33247ae1da42",
    "from": {"id": "user-id-0", "name": "Alex Wilber", "aadObjectId": "0000"},
    "timestamp": "2026-11-29T00:36:10.235Z",
    "localTimestamp": "2026-11-29T00:36:10.235+00:00",
    "localTimezone": "UTC",
    "serviceUrl": "http://localhost:56150/_connector",
    "conversation": {"conversationType": "personal", "tenantId": "0001", "id": "5e6d"},
    "recipient": {"id": "0011", "name": "Test Bot"},
    "textFormat": "plain",
    "locale": "en-US",
    "entities": [
        {"type": "clientInfo", "locale": "en-US", "country": "US", "platform": "Web"}
        | {"timezone": "UTC"}
    ],
    "channelData": {"tenant": {"id": "0001"}},
    "channelId": "msteams",
}


def _shape(value: Any) -> Any:
    """The keys of a JSON value, recursively (lists by their first item)."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def _covers(shape: Any, required: Any) -> bool:
    if isinstance(required, dict):
        return isinstance(shape, dict) and all(
            key in shape and _covers(shape[key], sub) for key, sub in required.items()
        )
    if isinstance(required, list):
        return isinstance(shape, list) and (not required or _covers(shape[0], required[0]))
    return bool(shape == required)


@pytest.fixture
async def emulator() -> AsyncIterator[TeamsEmulator]:
    async with TeamsEmulator(app_id=APP_ID, users=[ALICE, BOB]) as emu:
        yield emu


@pytest.fixture
async def connector(emulator: TeamsEmulator) -> AsyncIterator[httpx.AsyncClient]:
    """The bot's side of the connector, with an outbound token the emulator does not check."""
    headers = {"Authorization": "Bearer outbound-entra-token"}
    async with httpx.AsyncClient(base_url=emulator.service_url, headers=headers) as client:
        yield client


class CaptureBot:
    """A stand-in bot: validates each token as the Teams SDK does (PyJWKClient, synchronous,
    inside the event loop) and records what Teams sent."""

    def __init__(self, emulator: TeamsEmulator) -> None:
        self.emulator = emulator
        self.received: list[tuple[dict[str, str], dict[str, Any], dict[str, Any]]] = []
        keys_url = emulator.openid_url.removesuffix("/openidconfiguration") + "/keys"
        self._jwks = jwt.PyJWKClient(keys_url)
        app = Starlette(routes=[Route("/api/messages", self._handle, methods=["POST"])])
        self.server = LoopbackServer(app)

    @property
    def url(self) -> str:
        return f"{self.server.url}/api/messages"

    async def _handle(self, request: Request) -> Response:
        activity = await request.json()
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token, key.key, algorithms=["RS256"], audience=APP_ID, issuer=BOT_FRAMEWORK_ISSUER
            )
        except jwt.PyJWTError:
            return JSONResponse({"error": "Unauthorized"}, status_code=401)
        self.received.append((dict(request.headers), activity, claims))
        if activity["type"] == "invoke":
            if "say" in activity["value"]["action"]["data"]:  # a transient message
                message = "application/vnd.microsoft.activity.message"
                return JSONResponse({"statusCode": 200, "type": message, "value": "noted"})
            refreshed = {**CARD, "body": [{"type": "TextBlock", "text": "Refreshed"}]}
            return JSONResponse({"statusCode": 200, "type": ADAPTIVE_CARD, "value": refreshed})
        return Response(status_code=200)


@pytest.fixture
async def bot(emulator: TeamsEmulator) -> AsyncIterator[CaptureBot]:
    capture = CaptureBot(emulator)
    async with capture.server:
        yield capture


@pytest.fixture
async def driver(emulator: TeamsEmulator, bot: CaptureBot) -> AsyncIterator[TeamsDriver]:
    async with TeamsDriver(emulator=emulator, bot_url=bot.url) as drv:
        yield drv


async def _send(
    connector: httpx.AsyncClient, conversation: str, body: dict[str, Any], path: str = ""
) -> httpx.Response:
    return await connector.post(f"v3/conversations/{conversation}/activities{path}", json=body)


# ---------------------------------------------------------------------- lifecycle and tokens


async def test_urls_and_lifecycle() -> None:
    emu = TeamsEmulator(app_id=APP_ID)
    with pytest.raises(RuntimeError, match="not been started"):
        _ = emu.base_url
    emu.start()
    try:
        emu.start()  # already running: a no-op
        assert emu.base_url.startswith("http://127.0.0.1:")
        assert emu.service_url == f"{emu.base_url}/connector/"
        assert emu.openid_url == f"{emu.base_url}/v1/.well-known/openidconfiguration"
        async with httpx.AsyncClient() as client:
            document = (await client.get(emu.openid_url)).json()
        assert document["issuer"] == BOT_FRAMEWORK_ISSUER
        assert document["jwks_uri"] == f"{emu.base_url}/v1/.well-known/keys"
    finally:
        emu.stop()
    emu.stop()  # already stopped: a no-op
    emu.start()  # a restart serves again, on a new port
    emu.stop()


async def test_the_jwks_verifies_the_tokens_it_minted(emulator: TeamsEmulator) -> None:
    # What the Teams SDK does: derive .../keys from the OpenID URL, fetch it synchronously.
    keys_url = emulator.openid_url.removesuffix("/openidconfiguration") + "/keys"
    client = jwt.PyJWKClient(keys_url)
    token = emulator.mint()

    def verify(raw: str, audience: str = APP_ID) -> dict[str, Any]:
        key = client.get_signing_key_from_jwt(raw)
        claims: dict[str, Any] = jwt.decode(
            raw, key.key, algorithms=["RS256"], audience=audience, issuer=BOT_FRAMEWORK_ISSUER
        )
        return claims

    claims = await asyncio.to_thread(verify, token)
    assert claims["serviceurl"] == emulator.service_url
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["nbf"] == claims["iat"]
    assert jwt.get_unverified_header(token)["kid"] == emulator.kid
    other = emulator.mint(audience=f"api://botid-{APP_ID}", service_url="http://elsewhere/")
    assert (await asyncio.to_thread(verify, other, f"api://botid-{APP_ID}"))["serviceurl"] == (
        "http://elsewhere/"
    )
    assert [c.path for c in emulator.calls] == ["/v1/.well-known/keys"]  # PyJWKClient caches


async def test_forged_expired_and_unknown_key_tokens_do_not_verify(
    emulator: TeamsEmulator,
) -> None:
    client = jwt.PyJWKClient(f"{emulator.base_url}/v1/.well-known/keys")

    def verify(raw: str) -> None:
        key = client.get_signing_key_from_jwt(raw)
        # The Teams SDK allows 300 s of clock skew.
        jwt.decode(raw, key.key, algorithms=["RS256"], audience=APP_ID, leeway=300)

    await asyncio.to_thread(verify, emulator.mint())
    with pytest.raises(jwt.InvalidSignatureError):
        await asyncio.to_thread(verify, emulator.mint(key=new_signing_key()))
    with pytest.raises(jwt.ExpiredSignatureError):
        await asyncio.to_thread(verify, emulator.mint(expires_in=-3600))
    with pytest.raises(jwt.PyJWKClientError):
        await asyncio.to_thread(verify, emulator.mint(kid="someone-elses-key"))
    with pytest.raises(jwt.InvalidAudienceError):
        await asyncio.to_thread(verify, emulator.mint(audience="another-app"))


# ---------------------------------------------------------------------- connector


async def test_send_update_and_reply_are_recorded_with_state(
    emulator: TeamsEmulator, connector: httpx.AsyncClient
) -> None:
    emulator.set_installed(ALICE)
    conversation = emulator.personal_conversation(ALICE)
    card = {"contentType": ADAPTIVE_CARD, "content": CARD}
    image = {"contentType": "image/png", "contentUrl": PNG, "name": "chart.png"}
    sent = await _send(connector, conversation, {"type": "message", "attachments": [card]})
    assert sent.status_code == 201
    first = sent.json()["id"]
    chart = await _send(connector, conversation, {"type": "message", "attachments": [image]})
    assert (await _send(connector, conversation, {"type": "typing"})).json() == {}

    new = {"type": "message", "text": "Thanks, noted.", "attachments": []}
    updated = await connector.put(f"v3/conversations/{conversation}/activities/{first}", json=new)
    assert (updated.status_code, updated.json()) == (200, {"id": first})
    reply = await _send(connector, conversation, {"type": "message", "text": "re"}, f"/{first}")
    assert reply.status_code == 201

    stored = emulator.activity(conversation, first)
    assert (stored.text, stored.updates, stored.attachments) == ("Thanks, noted.", 1, [])
    assert cards_in(stored.versions[0]) == [CARD]
    assert emulator.activity(conversation, chart.json()["id"]).attachments == [image]
    assert emulator.find_activity(reply.json()["id"]).reply_to_id == first
    assert [a.text for a in emulator.activities_in(conversation)] == ["Thanks, noted.", "", "re"]
    calls = emulator.connector_calls()
    assert [(c.method, c.status) for c in calls] == [
        ("POST", 201),
        ("POST", 201),
        ("POST", 201),
        ("PUT", 200),
        ("POST", 201),
    ]
    assert {c.authorization for c in calls} == {"Bearer outbound-entra-token"}
    assert calls[0].body["attachments"] == [card]
    assert calls[0].path == f"/connector/v3/conversations/{conversation}/activities"


async def test_connector_refusals_look_like_teams(
    emulator: TeamsEmulator, connector: httpx.AsyncClient
) -> None:
    conversation = emulator.personal_conversation(ALICE)
    message = {"type": "message", "text": "hi"}
    not_installed = await _send(connector, conversation, message)
    assert not_installed.status_code == 403
    assert not_installed.json()["error"]["code"] == "BotNotInConversationRoster"
    emulator.set_installed(ALICE)
    unknown = await _send(connector, "a:1unknown", message)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "ConversationNotFound")
    missing = await connector.put(f"v3/conversations/{conversation}/activities/1", json=message)
    assert missing.status_code == 404
    assert (await _send(connector, conversation, {"text": "no type"})).status_code == 400
    too_big = {"type": "message", "text": "x" * 300_000}
    assert (await _send(connector, conversation, too_big)).json()["error"]["code"] == (
        "MessageSizeTooBig"
    )
    assert emulator.activities_in(conversation) == []


async def test_create_conversation(emulator: TeamsEmulator, connector: httpx.AsyncClient) -> None:
    def params(user: TeamsUser, **extra: Any) -> dict[str, Any]:
        return {"isGroup": False, "members": [{"id": user.teams_id}], "tenantId": user.tenant_id}

    refused = await connector.post("v3/conversations", json=params(ALICE))
    assert (refused.status_code, refused.json()["error"]["code"]) == (
        403,
        "BotNotInConversationRoster",
    )
    emulator.set_installed(ALICE)
    created = await connector.post("v3/conversations", json=params(ALICE))
    again = await connector.post("v3/conversations", json=params(ALICE))
    assert created.status_code == 201
    assert created.json() == again.json() == {"id": emulator.personal_conversation(ALICE)}
    assert created.json()["id"].startswith("a:")
    stranger = TeamsUser(aad_object_id="cccccccc-0000-4000-8000-000000000003", name="Carol")
    for body in (
        params(stranger),
        {**params(ALICE), "tenantId": "another-tenant"},
        {**params(ALICE), "isGroup": True},
        {"members": [], "tenantId": ALICE.tenant_id},
    ):
        assert (await connector.post("v3/conversations", json=body)).status_code == 400


async def test_fail_next(emulator: TeamsEmulator, connector: httpx.AsyncClient) -> None:
    emulator.set_installed(ALICE)
    conversation = emulator.personal_conversation(ALICE)
    message = {"type": "message", "text": "hi"}
    emulator.fail_next(429, retry_after=7)
    emulator.fail_next(403, body={"error": {"code": "ConversationBlockedByUser", "message": "x"}})
    emulator.fail_next(502, times=2)
    limited = await _send(connector, conversation, message)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "7"
    assert limited.json()["error"]["code"] == "Throttled"
    blocked = await _send(connector, conversation, message)
    assert blocked.json() == {"error": {"code": "ConversationBlockedByUser", "message": "x"}}
    assert [(await _send(connector, conversation, message)).status_code for _ in range(3)] == [
        502,
        502,
        201,
    ]
    # Scoped to one HTTP method; 429 defaults to Retry-After: 1; refused calls are not performed.
    emulator.fail_next(412, method="PUT")
    emulator.fail_next(429, method="put")
    sent_id = (await _send(connector, conversation, message)).json()["id"]
    path = f"v3/conversations/{conversation}/activities/{sent_id}"
    precondition = await connector.put(path, json={"type": "message", "text": "v2"})
    assert precondition.json()["error"]["code"] == "PreconditionFailed"
    assert (await connector.put(path, json=message)).headers["retry-after"] == "1"
    assert emulator.activity(conversation, sent_id).updates == 0
    assert len(emulator.activities_in(conversation)) == 2
    emulator.fail_next(504)
    assert (await connector.post("v3/conversations", json={})).status_code == 504


async def test_random_failures_are_seeded_and_come_after_scripted_ones(
    emulator: TeamsEmulator, connector: httpx.AsyncClient
) -> None:
    emulator.set_installed(ALICE)
    conversation = emulator.personal_conversation(ALICE)
    message = {"type": "message", "text": "hi"}

    async def statuses(n: int) -> list[int]:
        return [(await _send(connector, conversation, message)).status_code for _ in range(n)]

    emulator.inject_random_failures(rate_429=0.2, rate_5xx=0.2, seed=42)
    first = await statuses(60)
    emulator.inject_random_failures(rate_429=0.2, rate_5xx=0.2, seed=42)
    assert await statuses(60) == first
    assert {429, 500, 502, 504, 201} == set(first)
    emulator.inject_random_failures(rate_5xx=1.0)
    emulator.fail_next(412)
    assert await statuses(4) == [412, 500, 502, 504]
    emulator.inject_random_failures()  # both rates 0: off
    assert await statuses(2) == [201, 201]
    with pytest.raises(ValueError, match="probabilities"):
        emulator.inject_random_failures(rate_429=0.7, rate_5xx=0.4)


async def test_recording_is_thread_safe(emulator: TeamsEmulator) -> None:
    emulator.set_installed(ALICE)
    conversation = emulator.personal_conversation(ALICE)
    url = f"{emulator.service_url}v3/conversations/{conversation}/activities"

    def post_many(worker: int) -> list[str]:
        with httpx.Client() as client:
            return [
                client.post(url, json={"type": "message", "text": f"{worker}-{n}"}).json()["id"]
                for n in range(25)
            ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = [i for batch in pool.map(post_many, range(8)) for i in batch]
    assert len(set(ids)) == 200
    assert len(emulator.connector_calls()) == 200
    texts = [a.text for a in emulator.activities_in(conversation)]
    assert sorted(texts) == sorted(f"{w}-{n}" for w in range(8) for n in range(25))


async def test_wait_for(emulator: TeamsEmulator) -> None:
    await emulator.wait_for(lambda: True)
    with pytest.raises(AssertionError, match=r"timed out after 0\.05 s waiting for a reply"):
        await emulator.wait_for(lambda: False, 0.05, what="a reply")


# ---------------------------------------------------------------------- driver


async def test_a_message_has_the_fields_teams_sends(
    emulator: TeamsEmulator, bot: CaptureBot, driver: TeamsDriver
) -> None:
    await driver.install(BOB)
    response = await driver.message(BOB, "hello bot")
    assert response.status_code == 200
    headers, activity, claims = bot.received[-1]
    assert _covers(_shape(activity), _shape(PLAYGROUND_MESSAGE))
    conversation = emulator.personal_conversation(BOB)
    assert activity["from"] == {
        "id": BOB.teams_id,
        "name": "Bob Baker",
        "aadObjectId": BOB.aad_object_id,
    }
    assert BOB.teams_id.startswith("29:")
    assert activity["recipient"] == {"id": f"28:{APP_ID}", "name": "trustbot"}
    assert activity["conversation"] == {
        "conversationType": "personal",
        "tenantId": BOB.tenant_id,
        "id": conversation,
    }
    assert activity["channelData"] == {"tenant": {"id": BOB.tenant_id}}
    assert (activity["text"], activity["textFormat"], activity["channelId"]) == (
        "hello bot",
        "plain",
        "msteams",
    )
    assert activity["serviceUrl"] == emulator.service_url == claims["serviceurl"]
    assert activity["localTimezone"] == activity["entities"][0]["timezone"] == "Asia/Tokyo"
    assert activity["localTimestamp"].endswith("+09:00")
    assert activity["timestamp"].endswith("Z")
    assert activity["id"].isdigit()
    assert headers["x-ms-conversation-id"] == conversation
    assert headers["x-ms-tenant-id"] == BOB.tenant_id
    assert headers["authorization"].startswith("Bearer ")


async def test_install_and_uninstall(
    emulator: TeamsEmulator, bot: CaptureBot, driver: TeamsDriver
) -> None:
    with pytest.raises(AssertionError, match="has not installed the app"):
        await driver.message(ALICE, "hi")
    assert (await driver.install(ALICE)).status_code == 200
    assert emulator.is_installed(ALICE)
    (_, joined, _), (_, added, _) = [(h, a, c) for h, a, c in bot.received]
    assert joined["type"] == "conversationUpdate"
    assert [m["id"] for m in joined["membersAdded"]] == [ALICE.teams_id, f"28:{APP_ID}"]
    assert (added["type"], added["action"]) == ("installationUpdate", "add")
    assert added["conversation"]["id"] == joined["conversation"]["id"]
    assert added["conversation"]["conversationType"] == "personal"
    assert (await driver.uninstall(ALICE)).status_code == 200
    assert bot.received[-1][1]["action"] == "remove"
    assert not emulator.is_installed(ALICE)


async def test_install_in_a_channel_and_mention_the_bot(
    emulator: TeamsEmulator, bot: CaptureBot, driver: TeamsDriver
) -> None:
    assert (await driver.install_in_channel("Leadership", by_user=ALICE)).status_code == 200
    channel = emulator.channel_conversation("Leadership")
    (_, joined, _), (_, added, _) = [(h, a, c) for h, a, c in bot.received]
    assert joined["conversation"]["id"] == emulator.team_id
    assert joined["channelData"]["eventType"] == "teamMemberAdded"
    assert joined["channelData"]["team"]["id"] == emulator.team_id
    assert joined["membersAdded"] == [{"id": f"28:{APP_ID}"}]
    assert added["conversation"] == {
        "isGroup": True,
        "conversationType": "channel",
        "tenantId": ALICE.tenant_id,
        "id": channel,
    }
    assert added["channelData"]["settings"] == {"selectedChannel": {"id": channel}}
    assert added["channelData"]["channel"] == {"id": channel, "name": "Leadership"}

    await driver.message(BOB, "weekly digest?", conversation=channel)
    _, post, _ = bot.received[-1]
    assert post["text"] == "<at>trustbot</at> weekly digest?"
    assert post["conversation"]["id"] == f"{channel};messageid={post['id']}"
    assert post["entities"][0] == {
        "type": "mention",
        "text": "<at>trustbot</at>",
        "mentioned": {"id": f"28:{APP_ID}", "name": "trustbot"},
    }
    assert emulator.channel_name(post["conversation"]["id"]) == "Leadership"


async def test_submit_and_execute_act_on_the_bots_card(
    emulator: TeamsEmulator, bot: CaptureBot, driver: TeamsDriver
) -> None:
    await driver.install(ALICE)
    conversation = emulator.personal_conversation(ALICE)
    async with httpx.AsyncClient(base_url=emulator.service_url) as connector:
        body = {"type": "message", "attachments": [{"contentType": ADAPTIVE_CARD, "content": CARD}]}
        card_id = (await _send(connector, conversation, body)).json()["id"]

    said = await driver.execute(ALICE, verb="answer", reply_to_id=card_id, inputs={"say": "x"})
    assert said["value"] == "noted"
    assert emulator.find_activity(card_id).refreshes == 0  # a message replaces nothing
    answer = await driver.execute(ALICE, verb="answer", reply_to_id=card_id, inputs={"score": "4"})
    assert answer["statusCode"] == 200
    refreshed = emulator.find_activity(card_id)  # as in Teams, the answer's card replaced it
    assert (refreshed.refreshes, cards_in(refreshed.activity)) == (1, [answer["value"]])
    _, invoke, _ = bot.received[-1]
    assert (invoke["type"], invoke["name"], invoke["replyToId"]) == (
        "invoke",
        "adaptiveCard/action",
        card_id,
    )
    assert invoke["value"] == {
        "action": {"type": "Action.Execute", "verb": "answer", "data": {"prompt": 7, "score": "4"}},
        "trigger": "manual",
    }
    assert invoke["conversation"]["id"] == conversation
    await driver.execute(ALICE, verb="answer", reply_to_id=card_id, data={"prompt": 8})
    assert bot.received[-1][1]["value"]["action"]["data"] == {"prompt": 8}

    response = await driver.submit(ALICE, {"prompt": 7}, reply_to_id=card_id, inputs={"score": "2"})
    assert response.status_code == 200
    _, submitted, _ = bot.received[-1]
    assert (submitted["type"], submitted["text"], submitted["replyToId"]) == (
        "message",
        "",
        card_id,
    )
    assert submitted["value"] == {"prompt": 7, "score": "2"}

    text_only = {"type": "message", "text": "no card"}
    async with httpx.AsyncClient(base_url=emulator.service_url) as connector:
        text_id = (await _send(connector, conversation, text_only)).json()["id"]
    with pytest.raises(AssertionError, match=r"has no Action\.Submit"):
        await driver.submit(ALICE, {"prompt": 7}, reply_to_id=text_id)
    with pytest.raises(AssertionError, match=r"verbs: \['answer'\]"):
        await driver.execute(ALICE, verb="skip", reply_to_id=card_id)
    with pytest.raises(AssertionError, match="the bot sent no activity 42"):
        await driver.execute(ALICE, verb="answer", reply_to_id="42")


async def test_raw_posts_for_negative_tests(
    emulator: TeamsEmulator, bot: CaptureBot, driver: TeamsDriver
) -> None:
    emulator.set_installed(ALICE)
    activity = driver.activity("message", ALICE, text="hi")
    assert (await driver.post(activity)).status_code == 200
    assert (await driver.post(activity, token=None)).status_code == 401
    forged = emulator.mint(key=new_signing_key())
    assert (await driver.post(activity, token=forged)).status_code == 401
    assert (await driver.post(activity, token=emulator.mint(expires_in=-3600))).status_code == 401
    assert len(bot.received) == 1
    raw = await driver.post(b"{not json", token="x")
    assert raw.status_code in (400, 401, 500)


# ---------------------------------------------------------------------- card checker


def test_card_checker_accepts_a_good_card_and_explains_a_bad_one() -> None:
    good = {
        **CARD,
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "msteams": {"width": "Full"},
        "body": [*CARD["body"], {"type": "Image", "url": PNG, "altText": "Trust over time"}],
    }
    assert validate_adaptive_card(good) == []
    bad = json.loads(json.dumps(CARD))
    del bad["version"]
    bad["body"][0]["colour"] = "red"
    bad["body"][1]["style"] = "dropdown"
    bad["body"].append({"type": "Carousel"})
    bad["actions"][0]["verb"] = 5
    assert validate_adaptive_card(bad) == [
        "(card): version must be one of 1.0-1.5, not None",
        "actions/0/verb: 5 is not of type 'string'",
        "body/0: Additional properties are not allowed ('colour' was unexpected)",
        "body/1/style: 'dropdown' is not one of ['compact', 'expanded']",
        "body/2: 'Carousel' is not a type allowed here",
    ]


def test_cards_in_picks_the_adaptive_cards() -> None:
    activity = {
        "type": "message",
        "attachments": [
            {"contentType": "image/png", "contentUrl": PNG},
            {"contentType": ADAPTIVE_CARD, "content": CARD},
        ],
    }
    assert cards_in(activity) == [CARD]
    assert cards_in({"type": "message"}) == []
