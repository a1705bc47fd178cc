"""The Slack emulator, exercised with a real slack_sdk AsyncWebClient over HTTP."""

from __future__ import annotations

import asyncio
import json
import struct
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.slack_spec import assert_calls_match_spec, check_web_api_call
from trustbot.devtools.emulator import (
    ApiCall,
    EmulatedUser,
    SlackEmulator,
    tz_label_and_offset,
)

TOKEN = "xoxb-emulated-token"
USERS = [
    EmulatedUser(id="U001", name="alice", real_name="Alice Archer"),
    EmulatedUser(id="U002", name="bob", real_name="Bob Baker"),
    EmulatedUser(id="U003", name="carol", real_name="Carol Cole"),
    EmulatedUser(id="U004", name="dave", real_name="Dave Dunn", deleted=True),
    EmulatedUser(id="W005", name="erin", real_name="Erin Enterprise"),
]
BLOCKS: list[dict[str, Any]] = [
    {"type": "section", "block_id": "b1", "text": {"type": "mrkdwn", "text": "Hello"}},
    {
        "type": "actions",
        "block_id": "b2",
        "elements": [
            {
                "type": "button",
                "action_id": "vote",
                "text": {"type": "plain_text", "text": "Vote"},
                "value": "42",
            }
        ],
    },
]


@pytest.fixture
async def emulator() -> AsyncIterator[SlackEmulator]:
    emu = SlackEmulator(
        bot_token=TOKEN,
        users=USERS,
        channels={"C0GENERAL": ["U001", "U002", "U003", "U004", "W005"]},
        usergroups={"S0LEADS": ["U001", "U002"]},
        page_size=2,
    )
    async with emu:
        yield emu


@pytest.fixture
def client(emulator: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=emulator.base_url)


async def test_urls_and_idempotent_start(emulator: SlackEmulator) -> None:
    assert emulator.url.startswith("http://127.0.0.1:")
    assert emulator.base_url == emulator.url + "/api/"
    await emulator.start()  # already running: a no-op
    assert emulator.url.startswith("http://127.0.0.1:")


async def test_auth_test(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    resp = await client.auth_test()
    assert resp["ok"] is True
    assert resp["team_id"] == "T0TRUST"
    assert resp["user_id"] == "UTRUSTBOT"
    assert resp["bot_id"].startswith("B")
    assert {"url", "team", "user"} <= set(resp.data)
    assert emulator.calls_to("auth.test")[0].ok


async def test_post_message_to_user_id_goes_to_dm(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    first = await client.chat_postMessage(channel="U001", text="hi", blocks=BLOCKS)
    second = await client.chat_postMessage(channel="U001", text="again")
    dm = emulator.dm_channel_for("U001")
    assert dm.startswith("D")
    assert first["channel"] == dm == second["channel"]
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["blocks"] == BLOCKS
    assert first["message"]["user"] == "UTRUSTBOT"
    assert [m.text for m in emulator.messages_in(dm)] == ["hi", "again"]
    assert emulator.messages_in("U001") == emulator.messages_in(dm)
    stored = emulator.message(dm, first["ts"])
    assert stored.blocks == BLOCKS
    assert stored.user == "UTRUSTBOT"
    # conversations.open finds the same DM
    opened = await client.conversations_open(users="U001")
    assert opened["channel"]["id"] == dm
    assert opened["already_open"] is True
    fresh = await client.conversations_open(users=["U002"])
    assert fresh["channel"]["id"] == emulator.dm_channel_for("U002")
    # posting into a channel id
    chan = await client.chat_postMessage(channel="C0GENERAL", text="all")
    assert chan["channel"] == "C0GENERAL"
    assert_calls_match_spec(emulator.calls)


async def test_post_message_errors(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    for channel, error in [
        ("U999", "channel_not_found"),
        ("C999", "channel_not_found"),
        ("UTRUSTBOT", "cannot_dm_bot"),
        ("U004", "user_disabled"),
    ]:
        with pytest.raises(SlackApiError) as exc:
            await client.chat_postMessage(channel=channel, text="x")
        assert exc.value.response["error"] == error
    with pytest.raises(SlackApiError, match="no_text"):
        await client.api_call("chat.postMessage", json={"channel": "U001"})
    too_many = [{"type": "divider"}] * 51
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        await client.chat_postMessage(channel="U001", text="x", blocks=too_many)
    assert emulator.messages == []
    assert [c.ok for c in emulator.calls] == [False] * 6


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.parametrize(
    ("block", "pointer"),
    [
        (_section("x" * 3001), "/blocks/1/text/text"),
        ({"type": "header", "text": {"type": "plain_text", "text": "H" * 151}}, "/blocks/1/text"),
        (
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11},
            "/blocks/1/fields",
        ),
        (
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]},
            "/blocks/1/fields/0/text",
        ),
        ({"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}, "/elements"),
        (
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "c" * 3001}]},
            "/blocks/1/elements/0/text",
        ),
        ({**_section("ok"), "block_id": "b" * 256}, "/blocks/1/block_id"),
    ],
)
async def test_a_block_over_block_kits_limits_is_refused(
    emulator: SlackEmulator, client: AsyncWebClient, block: dict[str, Any], pointer: str
) -> None:
    blocks = [_section("fine"), block]

    with pytest.raises(SlackApiError) as message:
        await client.chat_postMessage(channel="U001", text="x", blocks=blocks)
    with pytest.raises(SlackApiError) as view:
        await client.views_publish(user_id="U001", view={"type": "home", "blocks": blocks})

    assert message.value.response["error"] == "invalid_blocks"
    assert view.value.response["error"] == "invalid_arguments"
    for refused in (message, view):
        [problem] = refused.value.response["response_metadata"]["messages"]
        assert pointer in problem
    assert emulator.messages == []
    assert emulator.home_views == {}


async def test_blocks_at_block_kits_limits_are_accepted(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    blocks = [
        _section("x" * 3000),
        {"type": "header", "text": {"type": "plain_text", "text": "H" * 150}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2000}] * 10},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c" * 3000}] * 10},
        {**_section("ok"), "block_id": "b" * 255},
    ]

    await client.chat_postMessage(channel="U001", text="x", blocks=blocks)
    await client.views_publish(user_id="U001", view={"type": "home", "blocks": blocks})

    assert emulator.messages[0].blocks == blocks
    assert emulator.home_views["U001"]["blocks"] == blocks


async def test_chat_update(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="U002", text="v1", blocks=BLOCKS)
    new_blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "v2"}}]
    updated = await client.chat_update(
        channel=posted["channel"], ts=posted["ts"], text="v2", blocks=new_blocks
    )
    assert updated["ts"] == posted["ts"]
    assert updated["message"]["text"] == "v2"
    stored = emulator.message(posted["channel"], posted["ts"])
    assert (stored.text, stored.blocks, stored.updates) == ("v2", new_blocks, 1)
    assert len(emulator.messages) == 1
    with pytest.raises(SlackApiError, match="message_not_found"):
        await client.chat_update(channel=posted["channel"], ts="1.000001", text="x")
    assert_calls_match_spec(emulator.calls)


async def test_post_ephemeral(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    resp = await client.chat_postEphemeral(channel="C0GENERAL", user="U001", text="psst")
    assert resp["message_ts"]
    assert emulator.ephemerals == [{"channel": "C0GENERAL", "user": "U001", "text": "psst"}]
    with pytest.raises(SlackApiError, match="user_not_in_channel"):
        await client.chat_postEphemeral(
            channel=emulator.dm_channel_for("U002"), user="U001", text="x"
        )
    assert_calls_match_spec(emulator.calls)


async def test_users_info(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    resp = await client.users_info(user="U001")
    user = resp["user"]
    assert user["id"] == "U001"
    assert user["name"] == "alice"
    assert user["real_name"] == "Alice Archer"
    assert user["profile"]["real_name"] == "Alice Archer"
    assert user["is_bot"] is False
    assert user["deleted"] is False
    assert user["tz"]
    with pytest.raises(SlackApiError, match="user_not_found"):
        await client.users_info(user="U999")
    assert emulator.calls_to("users.info")[0].http_verb == "GET"
    assert_calls_match_spec(emulator.calls)


async def test_users_list_paginates_and_includes_the_bot(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    # slack_sdk's async iteration reuses one response object: copy each page's data
    pages = [dict(page.data) async for page in await client.users_list(limit=50)]
    assert len(pages) == 3  # 6 members (5 users + the bot), page_size 2
    members = [m for page in pages for m in page["members"]]
    assert [m["id"] for m in members] == ["UTRUSTBOT", "U001", "U002", "U003", "U004", "W005"]
    assert members[0]["is_bot"] is True
    assert pages[-1]["response_metadata"]["next_cursor"] == ""
    assert all(c.args.get("limit") == "50" for c in emulator.calls_to("users.list"))
    # a smaller limit than page_size is honoured
    one = await client.users_list(limit=1)
    assert len(one["members"]) == 1
    with pytest.raises(SlackApiError, match="invalid_cursor"):
        await client.users_list(cursor="not-a-cursor")
    assert_calls_match_spec(emulator.calls)


async def test_conversations_members_paginates(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    members: list[str] = []
    cursor: str | None = None
    while True:
        resp = await client.conversations_members(channel="C0GENERAL", cursor=cursor)
        members += resp["members"]
        cursor = resp["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert members == ["U001", "U002", "U003", "U004", "W005"]
    assert len(emulator.calls_to("conversations.members")) == 3
    dm = await client.conversations_members(channel=emulator.dm_channel_for("U003"))
    assert sorted(dm["members"]) == ["U003", "UTRUSTBOT"]
    with pytest.raises(SlackApiError, match="channel_not_found"):
        await client.conversations_members(channel="C404")
    assert_calls_match_spec(emulator.calls)


async def test_usergroups_users_list(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    resp = await client.usergroups_users_list(usergroup="S0LEADS")
    assert resp["users"] == ["U001", "U002"]
    with pytest.raises(SlackApiError, match="no_such_subteam"):
        await client.usergroups_users_list(usergroup="S404")
    assert_calls_match_spec(emulator.calls)


async def test_auth_failures_and_unknown_method(emulator: SlackEmulator) -> None:
    bad = AsyncWebClient(token="xoxb-wrong", base_url=emulator.base_url)
    with pytest.raises(SlackApiError, match="invalid_auth"):
        await bad.auth_test()
    async with httpx.AsyncClient() as http:
        no_token = await http.post(emulator.base_url + "auth.test")
        assert no_token.json() == {"ok": False, "error": "not_authed"}
        as_arg = await http.post(emulator.base_url + "auth.test", data={"token": TOKEN})
        assert as_arg.json()["ok"] is True
    good = AsyncWebClient(token=TOKEN, base_url=emulator.base_url)
    with pytest.raises(SlackApiError, match="unknown_method"):
        await good.api_call("chat.nonsense")
    assert [(c.method, c.ok, c.error) for c in emulator.calls] == [
        ("auth.test", False, "invalid_auth"),
        ("auth.test", False, "not_authed"),
        ("auth.test", True, None),
        ("chat.nonsense", False, "unknown_method"),
    ]
    assert "token" not in emulator.calls[2].args


async def test_form_encoded_json_args_are_decoded(emulator: SlackEmulator) -> None:
    async with httpx.AsyncClient() as http:
        resp = await http.post(
            emulator.base_url + "chat.postMessage",
            headers={"Authorization": f"Bearer {TOKEN}"},
            data={"channel": "U001", "text": "form", "blocks": json.dumps(BLOCKS)},
        )
    assert resp.json()["ok"] is True
    assert emulator.messages[0].blocks == BLOCKS
    assert emulator.calls[0].args["blocks"] == BLOCKS


async def test_rate_limit_without_and_with_retry_handler(emulator: SlackEmulator) -> None:
    plain = AsyncWebClient(token=TOKEN, base_url=emulator.base_url)
    emulator.rate_limit_next("users.info", retry_after=7)
    with pytest.raises(SlackApiError) as exc:
        await plain.users_info(user="U001")
    assert exc.value.response.status_code == 429
    assert exc.value.response["error"] == "ratelimited"
    assert exc.value.response.headers["Retry-After"] == "7"

    retrying = AsyncWebClient(
        token=TOKEN,
        base_url=emulator.base_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    emulator.rate_limit_next("chat.postMessage", times=1, retry_after=0)
    resp = await retrying.chat_postMessage(channel="U001", text="eventually")
    assert resp["ok"] is True
    assert [c.ok for c in emulator.calls_to("chat.postMessage")] == [False, True]
    assert len(emulator.messages) == 1


async def test_fail_next(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    emulator.fail_next("chat.postMessage", "fatal_error", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError, match="fatal_error"):
            await client.chat_postMessage(channel="U001", text="x")
    await client.chat_postMessage(channel="U001", text="x")
    assert [c.error for c in emulator.calls_to("chat.postMessage")] == [
        "fatal_error",
        "fatal_error",
        None,
    ]


async def test_views_open_and_update(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    view = {
        "type": "modal",
        "callback_id": "story",
        "private_metadata": "round-7",
        "title": {"type": "plain_text", "text": "Tell a story"},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [
            {
                "type": "input",
                "block_id": "story",
                "label": {"type": "plain_text", "text": "Story"},
                "element": {"type": "plain_text_input", "action_id": "text"},
            }
        ],
    }
    trigger = emulator.new_trigger_id("U001")
    opened = await client.views_open(trigger_id=trigger, view=view)
    view_id = opened["view"]["id"]
    assert view_id.startswith("V")
    assert opened["view"]["callback_id"] == "story"
    assert opened["view"]["private_metadata"] == "round-7"
    assert opened["view"]["state"] == {"values": {}}
    assert opened["view"]["hash"]
    assert emulator.opened_views == [
        {"id": view_id, "trigger_id": trigger, "user": "U001", "view": view}
    ]
    assert emulator.view(view_id)["id"] == view_id

    with pytest.raises(SlackApiError, match="exchanged_trigger_id"):
        await client.views_open(trigger_id=trigger, view=view)
    with pytest.raises(SlackApiError, match="invalid_trigger_id"):
        await client.views_open(trigger_id="123.456.forged", view=view)

    changed = {**view, "private_metadata": "round-8"}
    updated = await client.views_update(view_id=view_id, view=changed)
    assert updated["view"]["private_metadata"] == "round-8"
    assert emulator.opened_views[0]["view"] == changed
    with pytest.raises(SlackApiError, match="hash_conflict"):
        await client.views_update(view_id=view_id, view=changed, hash="stale")
    with pytest.raises(SlackApiError, match="not_found"):
        await client.views_update(view_id="V404", view=changed)
    assert_calls_match_spec(emulator.calls)


async def test_response_url(emulator: SlackEmulator) -> None:
    url = emulator.new_response_url()
    assert url.startswith(emulator.url + "/response/")
    webhook = AsyncWebhookClient(url)
    resp = await webhook.send(text="only you can see this", response_type="ephemeral")
    assert resp.status_code == 200
    assert resp.body == "ok"
    assert emulator.responses == [
        {
            "url_id": url.rsplit("/", 1)[1],
            "body": {"text": "only you can see this", "response_type": "ephemeral"},
        }
    ]


async def test_wait_for(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    await client.auth_test()
    await emulator.wait_for(lambda: len(emulator.calls) == 1, timeout=0.5)
    with pytest.raises(AssertionError, match=r"waiting for .*auth\.test\(ok\)"):
        await emulator.wait_for(lambda: bool(emulator.messages), timeout=0.05)


async def test_stop_and_restart_is_safe() -> None:
    emu = SlackEmulator(bot_token=TOKEN)
    await emu.stop()  # not started: a no-op
    async with emu:
        assert (await AsyncWebClient(token=TOKEN, base_url=emu.base_url).auth_test())["ok"]
    await emu.stop()


def test_spec_checker_reports_undeclared_and_missing_arguments() -> None:
    assert check_web_api_call("chat.postMessage", {"channel": "C1", "text": "x"}) == []
    assert check_web_api_call("chat.postMessage", {"channel": "C1", "token": "t"}) == []
    # slack_sdk adds team_id to every call of a client built with team_id= (Bolt does)
    assert check_web_api_call("auth.test", {"team_id": "T0TRUST"}) == []
    problems = check_web_api_call("chat.postMessage", {"text": "x", "colour": "red"})
    assert len(problems) == 2
    assert "'colour'" in problems[0]
    assert "required parameter 'channel'" in problems[1]
    assert check_web_api_call("files.completeUploadExternal", {"anything": 1}) == []
    with pytest.raises(AssertionError, match=r"users\.info.*'usr'"):
        assert_calls_match_spec(
            [ApiCall(method="users.info", args={"usr": "U1"}, ok=True, http_verb="GET")]
        )


async def test_counters_and_per_channel_counts(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    for user in ("U001", "U002", "U001"):
        await client.chat_postMessage(channel=user, text="prompt")
    await client.chat_postMessage(channel="C0GENERAL", text="all")
    with pytest.raises(SlackApiError, match="channel_not_found"):
        await client.chat_postMessage(channel="C404", text="lost")
    emulator.rate_limit_next("chat.postMessage", retry_after=3)
    with pytest.raises(SlackApiError, match="ratelimited"):
        await client.chat_postMessage(channel="U003", text="refused")
    await client.auth_test()

    assert emulator.call_counts == {"chat.postMessage": 6, "auth.test": 1}
    assert emulator.performed_counts == {"chat.postMessage": 4, "auth.test": 1}
    assert emulator.status_counts[("chat.postMessage", 200)] == 5
    assert emulator.status_counts[("chat.postMessage", 429)] == 1
    assert [c.status for c in emulator.calls_to("chat.postMessage")] == [200] * 5 + [429]
    dm1, dm2 = emulator.dm_channel_for("U001"), emulator.dm_channel_for("U002")
    assert emulator.message_counts() == {dm1: 2, dm2: 1, "C0GENERAL": 1}
    assert emulator.dm_message_counts() == {"U001": 2, "U002": 1}
    assert emulator.message_count("U001") == emulator.message_count(dm1) == 2
    assert emulator.message_count("U003") == emulator.message_count("C404") == 0
    with pytest.raises(KeyError):
        emulator.message(dm1, "1.000000")


async def test_dms_and_lookups_scale_to_10000_users() -> None:
    people = [EmulatedUser(id=f"U{i:07d}", name=f"u{i}", real_name=f"U {i}") for i in range(10_000)]
    async with SlackEmulator(bot_token=TOKEN, users=people, page_size=1000) as emu:
        client = AsyncWebClient(token=TOKEN, base_url=emu.base_url)
        members = [m["id"] async for page in await client.users_list() for m in page["members"]]
        assert len(members) == 10_001  # and the bot
        assert len(emu.calls_to("users.list")) == 11

        # A DM per person: distinct channels, the same one from conversations.open and by user id
        channels = {emu.dm_channel_for(person.id) for person in people}
        assert len(channels) == 10_000
        last = people[-1].id
        opened = await client.conversations_open(users=last)
        assert opened["channel"]["id"] == emu.dm_channel_for(last)
        assert opened["already_open"] is True

        # 3 messages to each of 200 people, 30 at a time, through the indexes
        sample = [person.id for person in people[::50]]

        async def post(user_id: str, n: int) -> None:
            await client.chat_postMessage(channel=user_id, text=f"prompt {n}")

        for rounds in range(3):
            for start in range(0, len(sample), 30):
                batch = sample[start : start + 30]
                await asyncio.gather(*(post(user, rounds) for user in batch))
        counts = emu.dm_message_counts()
        assert counts == dict.fromkeys(sample, 3)
        posted = emu.messages_in(sample[-1])
        assert [m.text for m in posted] == ["prompt 0", "prompt 1", "prompt 2"]
        assert emu.message(sample[-1], posted[1].ts) is posted[1]
        assert emu.performed_counts["chat.postMessage"] == 600


async def test_views_update_by_external_id(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    view = {
        "type": "modal",
        "external_id": "story-U001",
        "title": {"type": "plain_text", "text": "Story"},
        "blocks": [],
    }
    opened = await client.views_open(trigger_id=emulator.new_trigger_id("U001"), view=view)
    renamed = {**view, "external_id": "story-U001-v2", "private_metadata": "2"}
    updated = await client.views_update(external_id="story-U001", view=renamed)
    assert updated["view"]["id"] == opened["view"]["id"]
    assert emulator.opened_views[0]["updates"] == 1
    # the old external id no longer finds the view; the new one does
    with pytest.raises(SlackApiError, match="not_found"):
        await client.views_update(external_id="story-U001", view=view)
    again = await client.views_update(external_id="story-U001-v2", view=renamed)
    assert again["view"]["private_metadata"] == "2"
    assert_calls_match_spec(emulator.calls)


class FakeMonotonic:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _refusal(call: Any) -> tuple[int, str, str]:
    """(status, error, Retry-After) of a call that must fail."""
    with pytest.raises(SlackApiError) as exc:
        await call
    response = exc.value.response
    return response.status_code, response["error"], response.headers.get("Retry-After", "")


async def test_rate_limit_allows_a_burst_then_refuses_with_retry_after() -> None:
    clock = FakeMonotonic()
    async with SlackEmulator(bot_token=TOKEN, users=USERS, clock=clock) as emu:
        client = AsyncWebClient(token=TOKEN, base_url=emu.base_url)
        emu.limit_rate("chat.postMessage", per_second=0.25, burst=2)  # one per 4 s
        for text in ("one", "two"):
            await client.chat_postMessage(channel="U001", text=text)
        refused = client.chat_postMessage(channel="U002", text="three")
        assert await _refusal(refused) == (429, "ratelimited", "4")
        clock.now += 1.5  # the next token is 2.5 s away: rounded up to whole seconds
        refused = client.chat_postMessage(channel="U002", text="three")
        assert await _refusal(refused) == (429, "ratelimited", "3")
        clock.now += 2.5
        await client.chat_postMessage(channel="U002", text="three")
        refused = client.chat_postMessage(channel="U002", text="four")
        assert await _refusal(refused) == (429, "ratelimited", "4")
        clock.now += 0.1  # a token 3.9 s away still says 4, never less than needed
        refused = client.chat_postMessage(channel="U002", text="four")
        assert await _refusal(refused) == (429, "ratelimited", "4")

        # refused calls were not performed, but recorded with their status
        assert [m.text for m in emu.messages] == ["one", "two", "three"]
        statuses = [c.status for c in emu.calls_to("chat.postMessage")]
        assert statuses == [200, 200, 429, 429, 200, 429, 429]
        assert emu.status_counts[("chat.postMessage", 429)] == 4
        assert emu.performed_counts["chat.postMessage"] == 3
        # other methods are not limited; a short wait is still at least 1 s
        assert (await client.auth_test())["ok"]
        emu.limit_rate("users.info", per_second=50, burst=1)
        await client.users_info(user="U001")
        refused = client.users_info(user="U001")
        assert await _refusal(refused) == (429, "ratelimited", "1")
        emu.clear_rate_limit("users.info")
        await client.users_info(user="U001")


async def test_rate_limit_per_channel() -> None:
    clock = FakeMonotonic()
    channels = {"C0GENERAL": ["U001", "U002", "U003"]}
    async with SlackEmulator(bot_token=TOKEN, users=USERS, channels=channels, clock=clock) as emu:
        client = AsyncWebClient(token=TOKEN, base_url=emu.base_url)
        emu.limit_rate("chat.postMessage", per_second=1, burst=3, per_channel_per_second=1)
        first = await client.chat_postMessage(channel="U001", text="1")
        # the same DM, by user id or by channel id: over its 1-per-second limit
        for channel in ("U001", first["channel"]):
            refused = client.chat_postMessage(channel=channel, text="again")
            assert await _refusal(refused) == (429, "ratelimited", "1")
        # other channels have their own budget; the refusals took no workspace token
        await client.chat_postMessage(channel="U002", text="2")
        await client.chat_postMessage(channel="C0GENERAL", text="3")
        refused = client.chat_postMessage(channel="U003", text="4")
        assert await _refusal(refused) == (429, "ratelimited", "1")  # the workspace's burst
        clock.now += 1.0
        await client.chat_postMessage(channel="U001", text="5")
        assert emu.dm_message_counts() == {"U001": 2, "U002": 1}
        assert emu.message_count("C0GENERAL") == 1


def test_limit_rate_refuses_impossible_limits() -> None:
    emu = SlackEmulator(bot_token=TOKEN)
    for kwargs in (
        {"per_second": 0, "burst": 1},
        {"per_second": 1, "burst": 0},
        {"per_second": 1, "burst": 1, "per_channel_per_second": 0},
        {"per_second": 1, "burst": 1, "per_channel_per_second": 1, "per_channel_burst": 0},
    ):
        with pytest.raises(ValueError, match="must be"):
            emu.limit_rate("chat.postMessage", **kwargs)


async def _post_many(emu: SlackEmulator, n: int) -> list[int]:
    """Post n messages one after another; the HTTP status of each answer."""
    statuses = []
    async with aiohttp.ClientSession() as session:  # one connection, not one per call
        client = AsyncWebClient(token=TOKEN, base_url=emu.base_url, session=session)
        for i in range(n):
            try:
                resp = await client.chat_postMessage(channel="U001", text=f"m{i}")
                statuses.append(resp.status_code)
            except SlackApiError as error:
                statuses.append(error.response.status_code)
    return statuses


async def test_random_failures_at_the_configured_rates_repeatably() -> None:
    runs = []
    for _ in range(2):
        async with SlackEmulator(bot_token=TOKEN, users=USERS) as emu:
            emu.inject_random_failures(
                "chat.postMessage", rate_429=0.2, rate_5xx=0.1, seed=42, retry_after=2
            )
            statuses = await _post_many(emu, 400)
            runs.append(statuses)
            # about 80 ± 8 rate limits and 40 ± 6 server errors (within 3.5 standard
            # deviations), the server errors 500/502/503 in turn
            assert 52 <= statuses.count(429) <= 108
            server_errors = [s for s in statuses if s >= 500]
            assert 19 <= len(server_errors) <= 61
            assert server_errors[:6] == [500, 502, 503, 500, 502, 503]
            # refused calls were not performed
            assert (
                len(emu.messages) == statuses.count(200) == emu.performed_counts["chat.postMessage"]
            )
            refused = [c for c in emu.calls_to("chat.postMessage") if c.status != 200]
            assert {c.error for c in refused} == {
                "ratelimited",
                "internal_error",
                "http_502",
                "http_503",
            }
    assert runs[0] == runs[1]  # the same seed, the same failures


async def test_random_failure_answers_look_like_slacks(emulator: SlackEmulator) -> None:
    url = emulator.base_url + "auth.test"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    emulator.inject_random_failures("auth.test", rate_5xx=1.0, seed=1)
    async with httpx.AsyncClient() as http:
        answers = [await http.post(url, headers=auth) for _ in range(3)]
        assert [a.status_code for a in answers] == [500, 502, 503]
        assert answers[0].json() == {"ok": False, "error": "internal_error"}
        for page in answers[1:]:
            assert page.headers["content-type"].startswith("text/html")
            assert f"<title>{page.status_code} " in page.text
        emulator.inject_random_failures("auth.test", rate_429=1.0, retry_after=5)
        limited = await http.post(url, headers=auth)
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "5"
        assert limited.json() == {"ok": False, "error": "ratelimited"}
        emulator.inject_random_failures("auth.test")  # both rates 0: off
        assert (await http.post(url, headers=auth)).json()["ok"] is True
    # slack_sdk cannot parse the HTML page: an error without a Slack error code
    client = AsyncWebClient(token=TOKEN, base_url=emulator.base_url)
    emulator.inject_random_failures("users.info", rate_5xx=1.0)
    assert await _refusal(client.users_info(user="U001")) == (500, "internal_error", "")
    with pytest.raises(SlackApiError) as exc:
        await client.users_info(user="U001")
    assert exc.value.response.status_code == 502
    assert exc.value.response.data == {}
    with pytest.raises(ValueError, match="probabilities"):
        emulator.inject_random_failures("auth.test", rate_429=0.7, rate_5xx=0.4)


async def test_scripted_failures_come_before_random_ones(emulator: SlackEmulator) -> None:
    emulator.inject_random_failures("chat.postMessage", rate_5xx=1.0)
    emulator.rate_limit_next("chat.postMessage", retry_after=4)
    emulator.fail_next("chat.postMessage", "not_in_channel")
    client = AsyncWebClient(token=TOKEN, base_url=emulator.base_url)
    outcomes = [await _refusal(client.chat_postMessage(channel="U001", text="x")) for _ in range(3)]
    assert outcomes == [
        (429, "ratelimited", "4"),
        (200, "not_in_channel", ""),
        (500, "internal_error", ""),
    ]


async def test_time_zones_in_users_list_and_users_info() -> None:
    people = [
        EmulatedUser(id="U001", name="alice", real_name="Alice"),  # Europe/Copenhagen
        EmulatedUser(id="U002", name="bob", real_name="Bob", tz="America/New_York"),
        EmulatedUser(id="U003", name="carol", real_name="Carol", tz="Asia/Kolkata"),
    ]
    async with SlackEmulator(bot_token=TOKEN, users=people) as emu:
        client = AsyncWebClient(token=TOKEN, base_url=emu.base_url)
        before = datetime.now(UTC)
        listed = {m["id"]: m for m in (await client.users_list())["members"]}
        info = (await client.users_info(user="U002"))["user"]
        after = datetime.now(UTC)
        assert_calls_match_spec(emu.calls)
    assert listed["U001"]["tz"] == "Europe/Copenhagen"
    assert listed["U003"]["tz"] == "Asia/Kolkata"
    assert (listed["U003"]["tz_label"], listed["U003"]["tz_offset"]) == (
        "India Standard Time",
        19_800,
    )
    for member in (listed["U001"], listed["U002"], info):
        # computed for the current time (either side of a daylight-saving switch mid-test)
        expected = {tz_label_and_offset(member["tz"], moment) for moment in (before, after)}
        assert (member["tz_label"], member["tz_offset"]) in expected
    assert info["tz"] == "America/New_York"


def test_tz_label_and_offset_follow_daylight_saving() -> None:
    winter, summer = datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 7, 15, tzinfo=UTC)
    assert tz_label_and_offset("Europe/Copenhagen", winter) == ("Central European Time", 3600)
    assert tz_label_and_offset("Europe/Copenhagen", summer) == (
        "Central European Summer Time",
        7200,
    )
    assert tz_label_and_offset("America/New_York", winter) == ("Eastern Standard Time", -18_000)
    # ambiguous abbreviations are told apart by their offset
    assert tz_label_and_offset("Asia/Shanghai", winter) == ("China Standard Time", 28_800)
    assert tz_label_and_offset("America/Chicago", winter) == ("Central Standard Time", -21_600)
    assert tz_label_and_offset("Europe/Dublin", summer) == ("Irish Standard Time", 3600)
    # a zone zoneinfo names only by its offset
    assert tz_label_and_offset("Asia/Kathmandu", winter) == ("UTC+05:45", 20_700)
    assert tz_label_and_offset("America/Sao_Paulo", winter) == ("UTC-03:00", -10_800)
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        EmulatedUser(id="U9", name="m", real_name="M", tz="Mars/Olympus")


async def test_views_publish_app_home(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    home = {
        "type": "home",
        "callback_id": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Your week"}}],
    }
    first = await client.views_publish(user_id="U001", view=home)
    assert first["view"]["type"] == "home"
    assert emulator.home_views["U001"] == first["view"]
    assert emulator.home_views["U001"]["blocks"] == home["blocks"]
    # republishing with the current hash replaces the view under the same id
    changed = {**home, "private_metadata": "w48"}
    second = await client.views_publish(user_id="U001", view=changed, hash=first["view"]["hash"])
    assert second["view"]["id"] == first["view"]["id"]
    assert emulator.home_views["U001"]["private_metadata"] == "w48"
    assert set(emulator.home_views) == {"U001"}
    # views.update by id changes the Home tab too
    await client.views_update(view_id=second["view"]["id"], view={**home, "blocks": []})
    assert emulator.home_views["U001"]["blocks"] == []

    modal = {"type": "modal", "title": {"type": "plain_text", "text": "M"}, "blocks": []}
    too_many = {**home, "blocks": [{"type": "divider"}] * 101}
    for kwargs, error in [
        ({"user_id": "U001", "view": home, "hash": first["view"]["hash"]}, "hash_conflict"),
        ({"user_id": "U999", "view": home}, "user_not_found"),
        ({"user_id": "U002", "view": modal}, "invalid_arguments"),
        ({"user_id": "U002", "view": too_many}, "invalid_arguments"),
    ]:
        with pytest.raises(SlackApiError) as exc:
            await client.views_publish(**kwargs)
        assert exc.value.response["error"] == error
    assert "U002" not in emulator.home_views
    await client.views_publish(user_id="U002", view={**home, "blocks": home["blocks"] * 100})
    assert [c.method for c in emulator.calls].count("views.publish") == 7
    # the 2021 spec describes views.publish, so its calls are really checked
    assert check_web_api_call("views.publish", {"view": home, "colour": "red"}) != []
    assert_calls_match_spec(emulator.calls)


def _tiny_png() -> bytes:
    """A valid 1x1 white PNG, built here rather than pasted as opaque bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\xff\xff")  # filter byte, then one white pixel
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PNG = _tiny_png()


async def test_files_upload_v2_end_to_end(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    resp = await client.files_upload_v2(
        file=PNG,
        filename="pulse.png",
        title="Pulse, week 48",
        alt_txt="A bar chart",
        channel="C0GENERAL",
        initial_comment="This week's pulse",
    )
    file_id = resp["file"]["id"]
    assert resp["files"] == [resp["file"]]
    assert resp["file"]["name"] == "pulse.png"
    assert resp["file"]["title"] == "Pulse, week 48"
    assert resp["file"]["mimetype"] == "image/png"
    assert resp["file"]["size"] == len(PNG)
    assert resp["file"]["channels"] == ["C0GENERAL"]

    stored = emulator.files[file_id]
    assert stored.content == PNG
    assert (stored.filename, stored.title, stored.alt_txt) == (
        "pulse.png",
        "Pulse, week 48",
        "A bar chart",
    )
    assert (stored.channel, stored.initial_comment, stored.thread_ts) == (
        "C0GENERAL",
        "This week's pulse",
        None,
    )
    assert emulator.files_in("C0GENERAL") == [stored]
    # the file message in the channel, as conversations.history would show it
    message = emulator.message("C0GENERAL", stored.message_ts["C0GENERAL"])
    assert (message.text, message.files, message.user) == (
        "This week's pulse",
        [file_id],
        "UTRUSTBOT",
    )
    # the bytes are served at url_private to the bot token
    async with httpx.AsyncClient() as http:
        download = await http.get(
            resp["file"]["url_private"], headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert (download.status_code, download.content) == (200, PNG)
        assert (await http.get(resp["file"]["url_private"])).status_code == 403

    # what slack_sdk sent: query-string arguments, the files list as JSON
    url_call, complete_call = emulator.calls
    assert (url_call.method, url_call.http_verb) == ("files.getUploadURLExternal", "POST")
    assert url_call.args == {
        "filename": "pulse.png",
        "length": str(len(PNG)),
        "alt_txt": "A bar chart",
    }
    assert complete_call.args == {
        "files": [{"id": file_id, "title": "Pulse, week 48"}],
        "channel_id": "C0GENERAL",
        "initial_comment": "This week's pulse",
    }
    assert_calls_match_spec(emulator.calls)  # the 2021 spec lacks both methods: skipped


async def test_files_upload_v2_into_a_thread_a_dm_or_nowhere(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    prompt = await client.chat_postMessage(channel="U002", text="How was your week?")
    reply = await client.files_upload_v2(
        content="print('hi')\n",
        filename="notes.py",
        snippet_type="python",
        channel=prompt["channel"],
        thread_ts=prompt["ts"],
    )
    stored = emulator.files[reply["file"]["id"]]
    assert (stored.content, stored.snippet_type, stored.title) == (
        b"print('hi')\n",
        "python",
        "notes.py",
    )
    assert emulator.files_in("U002") == [stored]
    shared = emulator.message("U002", stored.message_ts[prompt["channel"]])
    assert (shared.thread_ts, shared.text) == (prompt["ts"], "")
    assert reply["file"]["ims"] == [prompt["channel"]]
    # by user id in `channels`; two files in one message
    both = await client.files_upload_v2(
        file_uploads=[
            {"file": PNG, "filename": "a.png"},
            {"content": "b", "filename": "b.txt", "title": "B"},
        ],
        channels=["U003"],
    )
    assert [f["title"] for f in both["files"]] == ["a.png", "B"]
    [message] = emulator.messages_in("U003")
    assert message.files == [f["id"] for f in both["files"]]
    # without a channel the file stays private: stored, not shared
    private = await client.files_upload_v2(content="secret", filename="s.txt")
    assert emulator.files[private["file"]["id"]].channels == []
    assert private["file"]["channels"] == private["file"]["ims"] == []
    assert len(emulator.messages) == 3


async def test_file_upload_errors(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    async def error_of(method: str, **kwargs: Any) -> str:
        with pytest.raises(SlackApiError) as exc:
            await client.api_call(method, params=kwargs)
        return str(exc.value.response["error"])

    get_url = "files.getUploadURLExternal"
    assert await error_of(get_url, filename="a.txt") == "missing_argument"
    assert await error_of(get_url, filename="a.txt", length=0) == "missing_argument"
    assert await error_of(get_url, filename="a.txt", length="ten") == "invalid_arguments"
    assert await error_of(get_url, length=3) == "missing_argument"
    too_long = "x" * 1001
    assert await error_of(get_url, filename="a.png", length=3, alt_txt=too_long) == (
        "alt_txt_too_large"
    )

    ticket = await client.files_getUploadURLExternal(filename="a.txt", length=3)
    file_id = ticket["file_id"]
    complete = "files.completeUploadExternal"
    # nothing uploaded yet, or an unknown id
    assert await error_of(complete, files=json.dumps([{"id": file_id}])) == "file_not_found"
    assert await error_of(complete, files=json.dumps([{"id": "F404"}])) == "file_not_found"
    assert await error_of(complete, files="[]") == "invalid_arguments"
    async with httpx.AsyncClient() as http:
        upload_url = ticket["upload_url"]
        wrong = await http.post(upload_url, content=b"four")
        assert (wrong.status_code, wrong.text) == (400, "length_mismatch: declared 3, received 4")
        # Slack also takes a multipart body; the file part is the content
        right = await http.post(upload_url, files={"filename": ("a.txt", b"abc")})
        assert (right.status_code, right.text) == (200, "OK - 3")
        missing = await http.post(upload_url.rsplit("/", 1)[0] + "/nope", content=b"abc")
        assert missing.status_code == 404

    files = json.dumps([{"id": file_id, "title": "A"}])
    for kwargs, error in [
        ({"thread_ts": "1700000000.000100"}, "invalid_arguments"),  # a reply needs a channel
        ({"initial_comment": "hi"}, "invalid_arguments"),  # so does a comment
        ({"channel_id": "C404"}, "channel_not_found"),
        ({"channels": "C0GENERAL,U002", "thread_ts": "1.2"}, "invalid_arguments"),
    ]:
        assert await error_of(complete, files=files, **kwargs) == error
    assert emulator.files == {}  # refused completions shared nothing
    done = await client.files_completeUploadExternal(
        files=[{"id": file_id}], channel_id="C0GENERAL"
    )
    assert emulator.files[file_id].content == b"abc"
    assert done["files"][0]["title"] == "a.txt"  # no title: the file name
    # a completed upload cannot be completed again, nor uploaded to
    assert await error_of(complete, files=json.dumps([{"id": file_id}])) == "file_not_found"
    async with httpx.AsyncClient() as http:
        assert (await http.post(ticket["upload_url"], content=b"abc")).status_code == 404
