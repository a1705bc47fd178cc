"""The `trustbot` command as users run it: real processes, real HTTP, real signatures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import TEST_KEY
from tests.scenario.processes import base_env, poll_until, score_counts, start_serve, trustbot
from tests.slack_spec import assert_calls_match_spec
from trustbot.db.migrate import downgrade_to
from trustbot.db.models import Lease
from trustbot.devtools.driver import SlackDriver
from trustbot.devtools.emulator import EmulatedUser, SlackEmulator
from trustbot.devtools.loopback import bind_loopback_socket

TOKEN, SECRET = "xoxb-cli-test-token-42", "cli-signing-secret-42"
PEOPLE = [f"U0CLI{index:02d}" for index in range(1, 6)]


async def test_a_bad_time_zone_stops_config_check_with_one_line(tmp_path: Path) -> None:
    code, out, err = await trustbot(
        "config", "check", env=base_env(TRUSTBOT_TIMEZONE="Mars/Base"), cwd=tmp_path
    )

    assert code == 2
    assert err.strip().splitlines() == ["TRUSTBOT_TIMEZONE: 'Mars/Base' is not an IANA time zone"]
    assert "Traceback" not in out + err


async def test_bad_values_in_a_dotenv_file_name_the_variable(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TRUSTBOT_MIN_GROUP_SIZE=2\n")

    code, _, err = await trustbot("serve", env=base_env(), cwd=tmp_path)

    assert code == 2
    assert err.strip() == (
        "TRUSTBOT_MIN_GROUP_SIZE: 2 is below 3, too small to keep answers anonymous"
    )


async def test_config_check_masks_secrets(tmp_path: Path) -> None:
    env = base_env(
        SLACK_BOT_TOKEN="xoxb-very-secret-value",
        SLACK_SIGNING_SECRET="signing-secret-value",
        TRUSTBOT_PSEUDONYM_KEY=TEST_KEY,
        TRUSTBOT_DATABASE_URL="postgresql://app:hunter2hunter2@db.internal/trust",
    )

    code, out, err = await trustbot("config", "check", env=env, cwd=tmp_path)

    assert code == 0, err
    assert "SLACK_BOT_TOKEN=********" in out
    assert "TRUSTBOT_DATABASE_URL=postgresql://app:****@db.internal/trust" in out
    assert out.strip().endswith("configuration OK")
    for secret in ("xoxb-very-secret-value", "signing-secret-value", TEST_KEY, "hunter2hunter2"):
        assert secret not in out + err


async def test_config_check_says_what_serve_would_miss(tmp_path: Path) -> None:
    code, out, err = await trustbot(
        "config", "check", env=base_env(TRUSTBOT_TIMEZONE="UTC"), cwd=tmp_path
    )

    assert code == 2
    assert "TRUSTBOT_TIMEZONE=UTC" in out
    assert err.strip().splitlines() == [
        "SLACK_BOT_TOKEN: is required but not set",
        "TRUSTBOT_PSEUDONYM_KEY: is required but not set",
        "SLACK_SIGNING_SECRET: is required but not set",
    ]


async def test_a_changed_pseudonym_key_is_refused(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'keyed.db'}"
    env = base_env(
        SLACK_BOT_TOKEN=TOKEN,
        TRUSTBOT_PSEUDONYM_KEY=TEST_KEY,
        TRUSTBOT_DATABASE_URL=database,
        TRUSTBOT_AUTO_MIGRATE="true",
    )
    assert (await trustbot("report", env=env, cwd=tmp_path))[0] == 0

    other = {**env, "TRUSTBOT_PSEUDONYM_KEY": "another-key-" + "9" * 32}
    code, out, err = await trustbot("report", env=other, cwd=tmp_path)

    assert code == 2
    assert err.strip().startswith(
        "TRUSTBOT_PSEUDONYM_KEY: is not the key this database was created with"
    )
    assert other["TRUSTBOT_PSEUDONYM_KEY"] not in out + err


async def test_prompt_explains_an_unreachable_or_refusing_slack(
    tmp_path: Path, emulator: SlackEmulator
) -> None:
    env = base_env(
        SLACK_BOT_TOKEN=TOKEN,
        TRUSTBOT_PSEUDONYM_KEY=TEST_KEY,
        TRUSTBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'slack.db'}",
        TRUSTBOT_AUTO_MIGRATE="true",
        TRUSTBOT_AUDIENCE=PEOPLE[0],
        SLACK_API_URL=f"http://127.0.0.1:{_free_port()}/api/",
    )

    code, out, err = await trustbot("prompt", "--now", env=env, cwd=tmp_path)

    assert code == 1
    assert (
        err.strip()
        .splitlines()[-1]
        .startswith(f"SLACK_API_URL: cannot reach Slack at {env['SLACK_API_URL']}:")
    )
    assert "Traceback" not in out + err

    refused = {**env, "SLACK_API_URL": emulator.base_url, "SLACK_BOT_TOKEN": "xoxb-revoked-0"}
    code, out, err = await trustbot("prompt", "--now", env=refused, cwd=tmp_path)

    assert code == 1
    assert err.strip().splitlines()[-1] == "Slack refused users.list: invalid_auth"
    assert "xoxb-revoked-0" not in out + err


async def test_serve_refuses_a_database_that_is_not_migrated(
    tmp_path: Path, emulator: SlackEmulator
) -> None:
    env = base_env(
        SLACK_API_URL=emulator.base_url,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        TRUSTBOT_PSEUDONYM_KEY=TEST_KEY,
        TRUSTBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.db'}",
    )

    code, out, err = await trustbot("serve", env=env, cwd=tmp_path)

    assert code == 1
    assert "not migrated" in err
    assert "trustbot migrate" in err
    assert "Traceback" not in out + err


async def test_serve_needs_its_secrets(tmp_path: Path) -> None:
    code, _, err = await trustbot("serve", env=base_env(), cwd=tmp_path)

    assert code == 2
    assert "SLACK_BOT_TOKEN: is required but not set" in err


def _free_port() -> int:
    with bind_loopback_socket() as sock:
        return int(sock.getsockname()[1])


@pytest.fixture
async def emulator() -> AsyncIterator[SlackEmulator]:
    users = [EmulatedUser(id=user, name=user.lower(), real_name=user) for user in PEOPLE]
    async with SlackEmulator(bot_token=TOKEN, users=users) as emulator:
        yield emulator


@pytest.mark.slow  # a real serve process and prompt processes: runs in `make test-all`
async def test_serve_prompt_and_signed_clicks_end_to_end(
    engine: AsyncEngine, database_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    """The issue's 'done when': serve + prompt --now against SLACK_API_URL, one answer each."""
    await downgrade_to(engine, "base")  # `trustbot migrate` must build the schema itself
    port = _free_port()
    env = base_env(
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=emulator.base_url,
        TRUSTBOT_PSEUDONYM_KEY=TEST_KEY,
        TRUSTBOT_DATABASE_URL=database_url,
        TRUSTBOT_AUDIENCE=",".join(PEOPLE),
        TRUSTBOT_PORT=str(port),
        TRUSTBOT_LANGUAGE="da",
    )
    code, out, err = await trustbot("migrate", env=env, cwd=tmp_path)
    assert code == 0, err
    assert "revision" in out

    server = await start_serve(env, cwd=tmp_path, port=port)
    try:
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"http://127.0.0.1:{port}/healthz")).json() == {"status": "ok"}
            assert (await http.get(f"http://127.0.0.1:{port}/readyz")).json() == {"status": "ready"}

        code, out, err = await trustbot("prompt", "--now", env=env, cwd=tmp_path)
        assert code == 0, err
        assert "sent 5 prompts" in out
        code, out, _ = await trustbot("prompt", "--now", env=env, cwd=tmp_path)
        assert "nothing new to send" in out

        messages = {user: emulator.messages_in(emulator.dm_channel_for(user)) for user in PEOPLE}
        assert all(len(sent) == 1 for sent in messages.values())
        assert_calls_match_spec(emulator.calls)
        assert "Hvor godt levede vi denne regel" in str(messages[PEOPLE[0]][0].blocks)
        async with SlackDriver(
            bot_url=f"http://127.0.0.1:{port}/slack/events",
            signing_secret=SECRET,
            emulator=emulator,
        ) as driver:
            for user in PEOPLE:
                # 2 then quickly 4: the bot handles both after acking, concurrently; the later
                # click must win however the two race (a second click replaces, never adds).
                for score in (2, 4):
                    response = await driver.click_button(
                        user_id=user, message=messages[user][0], action_id=f"pulse_score:{score}"
                    )
                    assert response.status_code == 200
            await emulator.wait_for(
                lambda: (
                    len(emulator.ephemerals) == 2 * len(PEOPLE)
                    and len(emulator.calls_to("chat.update")) == len(PEOPLE)
                ),
                timeout=15,
            )
            for user in PEOPLE:  # what each person saw last is what is stored
                last = [sent for sent in emulator.ephemerals if sent["user"] == user][-1]
                assert "*4 – Godt*" in last["text"]
    finally:
        server.terminate()
        _, server_err = await server.communicate()

    assert await score_counts(database_url) == [(4, len(PEOPLE))]
    for secret in (TOKEN, SECRET, TEST_KEY):
        assert secret not in server_err.decode()


@pytest.mark.slow  # a real serve with two worker processes: runs in `make test-all`
async def test_serve_with_workers_shares_the_port_on_postgresql_only(
    engine: AsyncEngine, database_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    """`serve --workers 2`: two processes take clicks on one port, one leads the scheduler;
    on SQLite (one writer process) it is refused with one line."""
    port = _free_port()
    env = base_env(
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=emulator.base_url,
        TRUSTBOT_PSEUDONYM_KEY=TEST_KEY,
        TRUSTBOT_DATABASE_URL=database_url,
        TRUSTBOT_AUDIENCE=",".join(PEOPLE),
        TRUSTBOT_PORT=str(port),
    )
    if database_url.startswith("sqlite"):
        code, _, err = await trustbot("serve", "--workers", "2", env=env, cwd=tmp_path)
        assert code == 2
        assert err.strip() == (
            "--workers: needs PostgreSQL (TRUSTBOT_DATABASE_URL); SQLite takes one process"
        )
        return

    server = await start_serve(env, cwd=tmp_path, port=port, options=("--workers", "2"))
    try:
        code, _, err = await trustbot("prompt", "--now", env=env, cwd=tmp_path)
        assert code == 0, err
        messages = {user: emulator.messages_in(emulator.dm_channel_for(user)) for user in PEOPLE}
        async with SlackDriver(
            bot_url=f"http://127.0.0.1:{port}/slack/events",
            signing_secret=SECRET,
            emulator=emulator,
        ) as driver:
            for _ in range(4):  # enough connections that both workers take some
                for user in PEOPLE:
                    for score in (2, 4):
                        response = await driver.click_button(
                            user_id=user,
                            message=messages[user][0],
                            action_id=f"pulse_score:{score}",
                        )
                        assert response.status_code == 200
            await emulator.wait_for(lambda: len(emulator.ephemerals) == 8 * len(PEOPLE), timeout=30)

        async def leader() -> str | None:
            async with engine.connect() as connection:
                holder: str | None = await connection.scalar(select(Lease.holder))
            return holder

        # One worker takes the scheduler lease soon after start-up.
        await poll_until(leader, "a worker to lead the scheduler", timeout_s=60)
        _, out, _ = await trustbot("status", env=env, cwd=tmp_path)
        assert "scheduler: led by" in out
    finally:
        server.terminate()
        _, server_err = await server.communicate()

    log = server_err.decode()
    assert await score_counts(database_url) == [(4, len(PEOPLE))]
    assert log.count("Application startup complete") == 2
    assert log.count("this process leads the scheduler") == 1
    assert "Traceback" not in log
