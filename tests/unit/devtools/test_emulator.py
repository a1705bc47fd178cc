"""The Slack emulator, exercised with a real slack_sdk AsyncWebClient over HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.slack_spec import assert_calls_match_spec, check_web_api_call
from trustbot.devtools.emulator import ApiCall, EmulatedUser, SlackEmulator

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
