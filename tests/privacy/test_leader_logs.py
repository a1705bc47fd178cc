"""Someone who reads trustbot's logs (at DEBUG) looks for what people wrote, who they are, their
pseudonyms and their scores, after valid and malformed traffic on Slack and Teams, all of it
holding unique markers: in story texts, user ids, names, and values trustbot never expects.

`serve` runs as a real process with TRUSTBOT_LOG_LEVEL=debug; the same traffic, in the test's
own process with the log handler's filter taken off, shows the markers do reach the logging
calls (the Teams SDK's validation error quotes its input; bolt's "Unhandled request" quotes a
dialog's submission), so the test can fail.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import TEST_KEY, FixedClock, make_settings
from tests.privacy.leader import company
from tests.scenario.processes import base_env, start_serve, trustbot
from tests.teams_cards import cards_in
from trustbot.core.privacy import pseudonym
from trustbot.devtools.driver import SlackDriver
from trustbot.devtools.emulator import EmulatedUser, SlackEmulator
from trustbot.devtools.loopback import bind_loopback_socket
from trustbot.devtools.teams_driver import TeamsDriver
from trustbot.devtools.teams_emulator import TeamsEmulator, TeamsUser
from trustbot.logsetup import WithholdLibraryDetails, configure_logging

MARK = "zqxmrk"  # in every id, name and text below (ids in upper case, as Slack's are)
SLACK_PEOPLE = [f"U0ZQXMRK{index}" for index in range(1, 7)]
SLACK_VIEWER = "U0ZQXMRKBOSS"
TEAMS_PEOPLE = [
    TeamsUser(aad_object_id=f"eeeeeeee-7777-4777-8777-{index:012d}", name=f"Zqxmrk Teams {index}")
    for index in range(1, 5)
]
TEAMS_VIEWER = TEAMS_PEOPLE[0]
TOKEN, SECRET = "xoxb-zqx-log-token-77", "zqx-log-signing-secret-77"
APP_ID = "0b7c3f1e-2d4a-4e5b-8c6d-7e8f9a0b1c2d"


async def use_everything(
    slack: SlackEmulator,
    slack_driver: SlackDriver,
    teams: TeamsEmulator,
    teams_driver: TeamsDriver,
    prompt: Callable[[], Awaitable[object]],
) -> None:
    """A day of valid use on both platforms, and malformed requests of every kind."""
    for person in TEAMS_PEOPLE:
        await teams_driver.install(person)
    await prompt()
    # Slack, valid: scores, a reaction, a story, the report, App Home.
    for index, user in enumerate(SLACK_PEOPLE):
        message = slack.messages_in(slack.dm_channel_for(user))[-1]
        await slack_driver.click_button(
            user_id=user, message=message, action_id=f"pulse_score:{index % 5 + 1}"
        )
        await slack_driver.react(user_id=user, message=message, reaction="tada")
    first = slack.messages_in(slack.dm_channel_for(SLACK_PEOPLE[0]))[-1]
    await slack_driver.click_button(user_id=SLACK_PEOPLE[0], message=first, action_id="share_story")
    await slack.wait_for(lambda: len(slack.opened_views) == 1)
    values = {
        "story": {"text": {"type": "plain_text_input", "value": "ZQXMRK story told on Slack"}},
        "visibility": {"choice": {"type": "radio_buttons", "selected_option": {"value": "named"}}},
    }
    await slack_driver.submit_view(
        user_id=SLACK_PEOPLE[0], view=slack.opened_views[0], values=values
    )
    await slack_driver.send_command(user_id=SLACK_VIEWER, text="4")
    await slack_driver.send_command(user_id=SLACK_VIEWER, text="team=ZQXMRK-no-such-team")
    await slack_driver.send_event(
        {"type": "app_home_opened", "user": SLACK_PEOPLE[1], "tab": "home", "event_ts": "1.0"}
    )
    # Slack, signed but malformed: values and texts trustbot never expects.
    action = slack_driver.payloads.block_actions(
        user_id=SLACK_PEOPLE[2], message=first, action_id="share_story"
    )
    action["actions"][0] |= {"action_id": "zqxmrk_unknown_action", "value": "ZQXMRK-VALUE"}
    await slack_driver.send_block_action(action)
    bad_score = slack_driver.payloads.block_actions(
        user_id=SLACK_PEOPLE[2], message=first, action_id="pulse_score:3"
    )
    bad_score["actions"][0]["value"] = "ZQXMRK:score"
    await slack_driver.send_block_action(bad_score)
    story = slack_driver.payloads.block_actions(
        user_id=SLACK_PEOPLE[2], message=first, action_id="share_story"
    )
    story["actions"][0]["value"] = "ZQXMRK-round"
    await slack_driver.send_block_action(story)
    await slack_driver.send_block_action(
        {
            "type": "dialog_submission",
            "callback_id": "ZQXMRK-dialog",
            "user": {"id": SLACK_PEOPLE[3], "name": "zqxmrk person"},
            "submission": {"text": "ZQXMRK words in a dialog"},
            "team": {"id": slack_driver.team_id},
        }
    )
    await slack_driver.send_event(
        {"type": "message", "user": SLACK_PEOPLE[3], "text": "ZQXMRK a message", "ts": "2.0"}
    )
    form = urlencode({"payload": json.dumps({"type": "view_submission", "x": "ZQXMRK"})})
    await slack_driver.post_signed(form.encode(), content_type="application/x-www-form-urlencoded")
    await slack_driver.post_signed(
        b'{"ZQXMRK": "forged"}', content_type="application/json", signature="v0=forged"
    )
    await slack_driver.post_signed(b"ZQXMRK not json", content_type="application/json")
    # Teams, valid: scores, a story, the report.
    for index, person in enumerate(TEAMS_PEOPLE):
        sent = teams.activities_in(teams.personal_conversation(person))[-1]
        [card] = cards_in(sent.activity)
        data = next(
            dict(a["data"])
            for e in card["body"]
            for a in e.get("actions", [])
            if a.get("data", {}).get("score") == index % 5 + 1
        )
        await teams_driver.execute(person, verb="trustbot.score", reply_to_id=sent.id, data=data)
    sent = teams.activities_in(teams.personal_conversation(TEAMS_PEOPLE[1]))[-1]
    await teams_driver.execute(
        TEAMS_PEOPLE[1],
        verb="trustbot.story",
        reply_to_id=sent.id,
        inputs={"story": "ZQXMRK story told on Teams", "visibility": "anonymous"},
    )
    await teams_driver.message(TEAMS_VIEWER, "trust-report 4 team=ZQXMRK")
    # Teams, authenticated but malformed: wrong types (pydantic refuses them, quoting the
    # input), a story where a round should be, no sender, a body that is not JSON.
    person = TEAMS_PEOPLE[2]
    await teams_driver.post(
        teams_driver.activity(
            "conversationUpdate", person, membersAdded="ZQXMRK not a list of members"
        )
    )
    await teams_driver.post(
        teams_driver.activity(
            "message", person, text="ZQXMRK text", attachments="ZQXMRK attachments"
        )
    )
    await teams_driver.post(
        teams_driver.activity(
            "invoke",
            person,
            name="adaptiveCard/action",
            value={"action": {"type": "Action.Execute", "verb": 7, "data": "ZQXMRK story"}},
        )
    )
    await teams_driver.post(
        teams_driver.activity(
            "invoke",
            person,
            name="adaptiveCard/action",
            replyToId=sent.id,
            value={
                "action": {
                    "type": "Action.Execute",
                    "verb": "trustbot.story",
                    "data": {"round": "ZQXMRK", "story": "ZQXMRK story", "visibility": "x"},
                }
            },
        )
    )
    await teams_driver.post(
        teams_driver.activity("message", person, text="ZQXMRK", **{"from": {"name": "ZQXMRK"}})
    )
    await teams_driver.post(b"ZQXMRK not json")


def findings(logs: str, *, platform_ids: list[tuple[str, str]]) -> list[str]:
    """What the reader of `logs` learns: markers, ids, pseudonyms, scores, keyed hashes."""
    found = []
    if MARK in logs.lower():
        at = logs.lower().index(MARK)
        found.append(f"a marker: …{logs[max(0, at - 120) : at + 60]}…")
    for platform, user in platform_ids:
        if user.lower() in logs.lower():
            found.append(f"the {platform} id {user}")
        if pseudonym(user, key=TEST_KEY, platform=platform) in logs:
            found.append(f"the pseudonym of {user}")
    if match := re.search(r"\b[0-9a-f]{32,}\b", logs):
        found.append(f"a keyed hash: {match.group()}")
    if match := re.search(r"score\W{0,3}[1-5]\b|pulse_score", logs, re.IGNORECASE):
        found.append(f"a score: …{logs[max(0, match.start() - 80) : match.end() + 20]}…")
    return found


IDS_SLACK = [*SLACK_PEOPLE, SLACK_VIEWER]
IDS = [("slack", user) for user in IDS_SLACK] + [
    ("teams", person.aad_object_id) for person in TEAMS_PEOPLE
]


async def test_logs_at_debug_hold_no_words_ids_pseudonyms_or_scores(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    del engine  # an emptied, migrated database
    users = [EmulatedUser(id=u, name=u.lower(), real_name=f"Zqxmrk {u}") for u in IDS_SLACK]
    async with (
        SlackEmulator(bot_token=TOKEN, users=users) as slack,
        TeamsEmulator(app_id=APP_ID, users=TEAMS_PEOPLE) as teams,
    ):
        with bind_loopback_socket() as sock:
            port = int(sock.getsockname()[1])
        env = base_env(
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=slack.base_url,
            TRUSTBOT_PSEUDONYM_KEY=TEST_KEY,
            TRUSTBOT_DATABASE_URL=database_url,
            TRUSTBOT_AUDIENCE=",".join(SLACK_PEOPLE),
            TRUSTBOT_REPORT_VIEWERS=SLACK_VIEWER,
            TRUSTBOT_TEAMS_LOCAL="true",
            TEAMS_SERVICE_URL=teams.service_url,
            TRUSTBOT_TEAMS_REPORT_VIEWERS=TEAMS_VIEWER.aad_object_id,
            TRUSTBOT_PORT=str(port),
            TRUSTBOT_LOG_LEVEL="debug",
            TRUSTBOT_MIN_GROUP_SIZE="3",
        )
        server = await start_serve(env, cwd=tmp_path, port=port)
        prompt_logs: list[str] = []

        async def prompt() -> None:
            code, out, err = await trustbot("prompt", "--now", env=env, cwd=tmp_path)
            assert code == 0, err
            assert "sent 10 prompts" in out, out + err
            prompt_logs.append(err)

        bot = f"http://127.0.0.1:{port}"
        try:
            async with (
                SlackDriver(
                    bot_url=bot + "/slack/events", signing_secret=SECRET, emulator=slack
                ) as slack_driver,
                TeamsDriver(emulator=teams, bot_url=bot + "/api/messages") as teams_driver,
            ):
                await use_everything(slack, slack_driver, teams, teams_driver, prompt)
                await slack.wait_for(lambda: len(slack.responses) >= 2, timeout=30)
                await slack.wait_for(lambda: SLACK_PEOPLE[1] in slack.home_views, timeout=30)
                viewer_chat = teams.personal_conversation(TEAMS_VIEWER)
                await teams.wait_for(lambda: len(teams.activities_in(viewer_chat)) >= 2, 30)
        finally:
            server.terminate()  # a graceful stop: the work still under way finishes first
            _, server_err = await server.communicate()

    logs = server_err.decode() + "".join(prompt_logs)
    assert "DEBUG" in logs  # the level was really on
    assert "[withheld]" in logs  # the SDKs did log the malformed requests, without their values
    assert findings(logs, platform_ids=IDS) == []
    assert [secret for secret in (TOKEN, SECRET, TEST_KEY) if secret in logs] == []


@contextmanager
def captured(*, filtered: bool) -> Iterator[io.StringIO]:
    """trustbot's logging as `serve` sets it up, into a buffer; without the handler's filter
    and formatter when `filtered` is false (the weakened rule). Slack's and Teams' SDKs log at
    DEBUG in both (serve holds them at INFO): the front doors refuse before the SDKs would quote
    a malformed request, so what the filter must still stop is what they say at DEBUG."""
    saved_handlers, saved_level = logging.root.handlers[:], logging.root.level
    saved = {name: (lg.level, lg.filters[:]) for name, lg in _loggers()}
    buffer = io.StringIO()
    try:
        configure_logging(make_settings(TRUSTBOT_LOG_LEVEL="debug"))
        [handler] = logging.root.handlers
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(buffer)
        if not filtered:
            for each in [f for f in handler.filters if isinstance(f, WithholdLibraryDetails)]:
                handler.removeFilter(each)
            handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        for name, each in _loggers():  # the platforms' SDKs at DEBUG: the filter must hold
            if name.startswith(("slack_bolt", "slack_sdk", "microsoft_teams")):
                each.setLevel(logging.DEBUG)
        yield buffer
    finally:
        logging.root.handlers[:] = saved_handlers
        logging.root.setLevel(saved_level)
        for name, (level, filters) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.filters[:] = filters


def _loggers() -> Iterator[tuple[str, logging.Logger]]:
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            yield name, logger


@pytest.mark.parametrize("filtered", [True, False], ids=["trustbot", "without-the-filter"])
async def test_the_same_traffic_in_process_finds_markers_only_without_the_filter(
    engine: AsyncEngine, database_url: str, fast_weeks: None, filtered: bool
) -> None:
    del engine, fast_weeks
    clock = FixedClock(datetime(2026, 11, 26, 10, 0, tzinfo=UTC), ticking=True)
    with captured(filtered=filtered) as buffer:
        async with company(
            database_url,
            clock,
            teams={"Crew": SLACK_PEOPLE},
            leader=SLACK_VIEWER,
            teams_people=TEAMS_PEOPLE,
            teams_leader=TEAMS_VIEWER,
        ) as firm:
            await use_everything(
                firm.slack, firm.slack_driver, firm.teams, firm.teams_driver, firm.prompt
            )
            await firm.settle()
    logs = buffer.getvalue()

    found = findings(logs, platform_ids=IDS)
    if filtered:
        assert found == []
    else:
        assert any("a marker" in each for each in found), logs[-3000:]
