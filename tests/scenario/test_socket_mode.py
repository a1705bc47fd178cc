"""`trustbot serve --socket-mode` as users run it: a real process on the emulator's WebSocket."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import TEST_KEY
from tests.scenario.processes import base_env, poll_until, score_counts, trustbot
from tests.slack_spec import assert_calls_match_spec
from trustbot.devtools.driver import SocketModeDriver
from trustbot.devtools.emulator import EmulatedUser, SlackEmulator
from trustbot.devtools.loopback import bind_loopback_socket

TOKEN = "xoxb-socket-mode-token-77"
APP_TOKEN = "xapp-1-A0TRUSTBOT-1234567890-socketmodesecret77"
PEOPLE = [f"U0SM{index:02d}" for index in range(1, 4)]
OUTSIDER = "U0SMOUT"
METRICS = "socket-mode-metrics-token-0123456789"
REFUSAL = "Sorry, this report is only available to selected leaders."


@pytest.fixture
async def emulator() -> AsyncIterator[SlackEmulator]:
    users = [EmulatedUser(id=user, name=user.lower(), real_name=user) for user in PEOPLE]
    users.append(EmulatedUser(id=OUTSIDER, name="outsider", real_name="Otto Outside"))
    async with SlackEmulator(bot_token=TOKEN, app_token=APP_TOKEN, users=users) as emulator:
        yield emulator


def socket_env(emulator: SlackEmulator, database_url: str, **values: str) -> dict[str, str]:
    """What `serve --socket-mode` needs: no SLACK_SIGNING_SECRET, an app token instead (and a
    free port for its health checks and /metrics)."""
    with bind_loopback_socket() as sock:
        port = str(sock.getsockname()[1])
    return base_env(
        TRUSTBOT_PORT=port,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=emulator.base_url,
        TRUSTBOT_PSEUDONYM_KEY=TEST_KEY,
        TRUSTBOT_DATABASE_URL=database_url,
        TRUSTBOT_AUDIENCE=",".join(PEOPLE),
        TRUSTBOT_LANGUAGE="en",
        **values,
    )


@pytest.mark.slow  # a real serve process and prompt processes: runs in `make test-all`
async def test_serve_over_socket_mode_end_to_end(
    engine: AsyncEngine, database_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    del engine  # the fixture empties the database first
    env = socket_env(emulator, database_url, TRUSTBOT_METRICS_TOKEN=METRICS)
    code, _, err = await trustbot("migrate", env=env, cwd=tmp_path)
    assert code == 0, err

    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "trustbot",
        "serve",
        "--socket-mode",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await emulator.wait_for_socket(timeout=20)
        opened = emulator.calls_to("apps.connections.open")
        assert [call.ok for call in opened] == [True, True]  # the start-up check, the socket
        # No request URL, but health checks and /metrics (to a bearer of the token) over HTTP.
        base = f"http://127.0.0.1:{env['TRUSTBOT_PORT']}"
        async with httpx.AsyncClient(base_url=base) as http:
            await poll_until(
                lambda: _answers(http, "/readyz"), "readyz over Socket Mode", timeout_s=20
            )
            assert (await http.get("/healthz")).status_code == 200
            assert (await http.get("/metrics")).status_code == 401
            scraped = await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS}"})
            assert scraped.status_code == 200
            assert "trustbot_leader 1.0" in scraped.text

        code, out, err = await trustbot("prompt", "--now", env=env, cwd=tmp_path)
        assert code == 0, err
        assert "sent 3 prompts" in out
        person = PEOPLE[0]
        prompt = emulator.messages_in(emulator.dm_channel_for(person))[0]

        driver = SocketModeDriver(emulator=emulator, ack_timeout=10)
        clicked = await driver.click_button(
            user_id=person, message=prompt, action_id="pulse_score:4"
        )
        assert set(clicked) == {"envelope_id"}  # a plain ack: block_actions take no payload
        await emulator.wait_for(lambda: prompt.updates == 1, timeout=10, what="chat.update")
        assert [call.args["ts"] for call in emulator.calls_to("chat.update")] == [prompt.ts]

        commanded = await driver.send_command(user_id=OUTSIDER, command="/trust-report")
        assert set(commanded) == {"envelope_id"}  # the refusal goes to the response_url
        await emulator.wait_for(lambda: len(emulator.responses) == 1, timeout=10)
        assert emulator.responses[0]["body"] == {"text": REFUSAL, "response_type": "ephemeral"}

        assert emulator.socket_mode is not None
        for envelope in emulator.socket_mode.envelopes:
            assert emulator.socket_mode.acks_for(envelope.envelope_id) == [envelope.ack]
        assert_calls_match_spec(emulator.calls)
    finally:
        if server.returncode is None:
            server.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            _, server_err = await server.communicate()

    stderr = server_err.decode()
    assert server.returncode == 0, stderr
    assert "Traceback" not in stderr
    for secret in (TOKEN, APP_TOKEN, TEST_KEY):
        assert secret not in stderr
    await emulator.wait_for(lambda: not emulator.socket_connected, what="the socket to close")

    assert await score_counts(database_url) == [(4, 1)]


async def test_socket_mode_needs_the_app_token(tmp_path: Path) -> None:
    env = base_env(
        SLACK_BOT_TOKEN=TOKEN,
        TRUSTBOT_PSEUDONYM_KEY=TEST_KEY,
        TRUSTBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'socket.db'}",
    )

    code, out, err = await trustbot("serve", "--socket-mode", env=env, cwd=tmp_path)

    assert code == 2
    assert err.strip() == "SLACK_APP_TOKEN: is required but not set"
    assert "Traceback" not in out + err


async def test_a_refused_app_token_stops_serve_with_one_line(
    emulator: SlackEmulator, tmp_path: Path
) -> None:
    revoked = "xapp-1-A0TRUSTBOT-revoked-0000"
    env = {
        **socket_env(emulator, f"sqlite:///{tmp_path / 'refused.db'}"),
        "SLACK_APP_TOKEN": revoked,
        "TRUSTBOT_AUTO_MIGRATE": "true",
    }

    code, out, err = await trustbot("serve", "--socket-mode", env=env, cwd=tmp_path)

    assert code == 2  # refused by the start-up check, before anything is served
    assert err.strip().splitlines() == [
        "SLACK_APP_TOKEN: Slack refused it for Socket Mode (invalid_auth): use an app-level "
        "token with connections:write, and turn Socket Mode on in the app's settings"
    ]
    assert "Traceback" not in out + err
    assert revoked not in out + err
    assert not emulator.socket_connected


async def _answers(http: httpx.AsyncClient, path: str) -> bool:
    try:
        return (await http.get(path)).status_code == 200
    except httpx.TransportError:
        return False
