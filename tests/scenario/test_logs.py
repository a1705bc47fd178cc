"""Logs at debug level, read as an attacker would: no pseudonym next to a score, no SQL
parameters, no request bodies, no user text, no secret; across `serve` and `prompt --now`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import TEST_KEY
from tests.scenario.processes import base_env, start_serve, trustbot
from trustbot.core.privacy import pseudonym
from trustbot.devtools.driver import SlackDriver
from trustbot.devtools.emulator import EmulatedUser, SlackEmulator
from trustbot.devtools.loopback import bind_loopback_socket

pytestmark = pytest.mark.slow  # a real serve process and a prompt process: runs in `make test-all`

TOKEN, SECRET = "xoxb-log-test-token-77", "log-signing-secret-77"
PEOPLE = [f"U0LOG{index:02d}" for index in range(1, 6)]
VIEWER = "U0LOGBOSS"
STORY = "Sigrid quietly rebuilt the billing export over the weekend"


@pytest.mark.parametrize("log_format", ["json", "text"])
async def test_a_day_of_use_at_debug_level_leaves_nothing_personal_in_the_logs(
    engine: AsyncEngine, database_url: str, tmp_path: Path, log_format: str
) -> None:
    """In either TRUSTBOT_LOG_FORMAT; and /metrics on its own port counts the day."""
    del engine  # an emptied, migrated database
    users = [EmulatedUser(id=user, name=user.lower(), real_name=user) for user in [*PEOPLE, VIEWER]]
    async with SlackEmulator(bot_token=TOKEN, users=users) as emulator:
        with bind_loopback_socket() as sock, bind_loopback_socket() as other:
            port, metrics_port = int(sock.getsockname()[1]), int(other.getsockname()[1])
        env = base_env(
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=emulator.base_url,
            TRUSTBOT_PSEUDONYM_KEY=TEST_KEY,
            TRUSTBOT_DATABASE_URL=database_url,
            TRUSTBOT_AUDIENCE=",".join(PEOPLE),
            TRUSTBOT_REPORT_VIEWERS=VIEWER,
            TRUSTBOT_PORT=str(port),
            TRUSTBOT_LOG_LEVEL="debug",
            TRUSTBOT_LOG_FORMAT=log_format,
            TRUSTBOT_METRICS_PORT=str(metrics_port),
            TRUSTBOT_MIN_GROUP_SIZE="3",
        )
        server = await start_serve(env, cwd=tmp_path, port=port)
        try:
            code, _, prompt_err = await trustbot("prompt", "--now", env=env, cwd=tmp_path)
            assert code == 0, prompt_err
            async with SlackDriver(
                bot_url=f"http://127.0.0.1:{port}/slack/events",
                signing_secret=SECRET,
                emulator=emulator,
            ) as driver:
                for index, user in enumerate(PEOPLE):
                    message = emulator.messages_in(emulator.dm_channel_for(user))[-1]
                    await driver.click_button(
                        user_id=user, message=message, action_id=f"pulse_score:{index % 5 + 1}"
                    )
                    await driver.react(user_id=user, message=message, reaction="tada")
                message = emulator.messages_in(emulator.dm_channel_for(PEOPLE[0]))[-1]
                await driver.click_button(
                    user_id=PEOPLE[0], message=message, action_id="share_story"
                )
                await emulator.wait_for(lambda: len(emulator.opened_views) == 1)
                values = {
                    "story": {"text": {"type": "plain_text_input", "value": STORY}},
                    "visibility": {
                        "choice": {"type": "radio_buttons", "selected_option": {"value": "named"}}
                    },
                }
                await driver.submit_view(
                    user_id=PEOPLE[0], view=emulator.opened_views[0], values=values
                )
                await driver.send_command(user_id=VIEWER, text="4")
                await emulator.wait_for(lambda: len(emulator.ephemerals) >= len(PEOPLE), timeout=15)
                await emulator.wait_for(lambda: len(emulator.responses) == 1, timeout=30)
            async with httpx.AsyncClient() as http:
                public = await http.get(f"http://127.0.0.1:{port}/metrics")
                # A refusal logged while the request is handled carries the request's id.
                oversized = await http.post(
                    f"http://127.0.0.1:{port}/slack/events", content=b"x" * 2_000_000
                )
                scraped = await http.get(f"http://127.0.0.1:{metrics_port}/metrics")
        finally:
            # SIGTERM stops serve gracefully: it finishes the work still under way after the
            # acks (and its logging) before it exits, so stderr holds every line.
            server.terminate()
            _, server_err = await server.communicate()

    assert public.status_code == 404  # not on the public port
    assert scraped.status_code == 200
    # 5 answers in steps of k = 3; the clicks, reactions, story and command were all answered.
    assert 'trustbot_answers_recorded_total{platform="slack"} 3.0' in scraped.text
    assert 'trustbot_stories_recorded_total{platform="slack"} 0.0' in scraped.text
    assert re.search(
        r'trustbot_http_responses_total\{route="/slack/events",status="200"\} 1[2-9]', scraped.text
    )
    logs = server_err.decode() + prompt_err
    lines = server_err.decode().splitlines()
    if log_format == "json":
        records = [json.loads(line) for line in lines if line.startswith("{")]
        assert len(records) == len([line for line in lines if line.strip()])  # every line
        assert {"timestamp", "level", "logger", "request_id", "message"} <= set(records[0])
        refusals = [r for r in records if r["message"].startswith("refused a Slack request")]
        assert [r["request_id"] for r in refusals] == [oversized.headers["x-request-id"]]
    else:
        assert not any(line.startswith("{") for line in lines)
        refusal = f"[{oversized.headers['x-request-id']}]: refused a Slack request"
        assert len([line for line in lines if refusal in line]) == 1
    assert "DEBUG" in logs  # the level was really on
    assert "unfinished background tasks" not in logs  # nothing was cut short at shutdown
    secrets = [TOKEN, SECRET, TEST_KEY]
    pseudonyms = [pseudonym(user, key=TEST_KEY, platform="slack") for user in PEOPLE]
    assert [s for s in secrets if s in logs] == []
    assert [p for p in pseudonyms if p in logs] == []
    assert not re.search(r"\b[0-9a-f]{64}\b", logs)  # no pseudonym or keyed hash at all
    assert STORY not in logs
    assert "pulse_score" not in logs  # no interaction body
    assert '"actions"' not in logs
    assert "payload=" not in logs
    assert "[SQL" not in logs
    assert "parameters" not in logs.lower()
    for user in PEOPLE:
        assert user not in logs
