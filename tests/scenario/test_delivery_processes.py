"""`trustbot prompt --now` as real processes against one database: two at once never send the
same prompt, and a SIGKILL mid-run loses nobody."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import TEST_KEY
from tests.scenario.processes import base_env, trustbot
from trustbot.db.models import Delivery, DeliveryStatus
from trustbot.db.session import create_engine
from trustbot.devtools.emulator import EmulatedUser, SlackEmulator

pytestmark = pytest.mark.slow  # real processes, racing and SIGKILLed: runs in `make test-all`

TOKEN = "xoxb-processes-test-token"
POST = "chat.postMessage"


def _people(count: int) -> list[str]:
    return [f"U0P{index:05d}" for index in range(count)]


@pytest.fixture
async def emulator() -> AsyncIterator[SlackEmulator]:
    people = _people(200)
    users = [EmulatedUser(id=user, name=user.lower(), real_name=user) for user in people]
    async with SlackEmulator(
        bot_token=TOKEN, users=users, channels={"C0ALL": people}, page_size=100
    ) as emulator:
        yield emulator


def _env(emulator: SlackEmulator, database_url: str, **values: str) -> dict[str, str]:
    return base_env(
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_API_URL=emulator.base_url,
        TRUSTBOT_PSEUDONYM_KEY=TEST_KEY,
        TRUSTBOT_DATABASE_URL=database_url,
        TRUSTBOT_AUDIENCE="C0ALL",
        **values,
    )


def _sent(out: str) -> int:
    """How many prompts a `prompt --now` run says it sent itself (another process draining
    the outbox at the same time may have sent the rest of what it queued)."""
    found = re.search(r"sent (\d+) prompts(?:, (\d+) by this run)?", out)
    if not found:
        return 0
    return int(found.group(2) if found.group(2) is not None else found.group(1))


async def _statuses(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(Delivery.status, func.count()).group_by(Delivery.status)
            )
            return {status.value: count for status, count in rows}
    finally:
        await engine.dispose()


async def test_two_prompt_runs_at_once_never_send_anyone_the_prompt_twice(
    engine: AsyncEngine, database_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    del engine  # empties the database first
    # 200 prompts at 40 a second: each run alone would need 5 s, so the two overlap
    env = _env(emulator, database_url, TRUSTBOT_SEND_RATE="40", TRUSTBOT_SEND_BURST="5")

    (code_a, out_a, err_a), (code_b, out_b, err_b) = await asyncio.gather(
        trustbot("prompt", "--now", env=env, cwd=tmp_path),
        trustbot("prompt", "--now", env=env, cwd=tmp_path),
    )

    assert (code_a, code_b) == (0, 0), err_a + err_b
    counts = emulator.dm_message_counts()
    assert counts == dict.fromkeys(_people(200), 1)
    assert _sent(out_a) + _sent(out_b) == 200
    assert _sent(out_a) > 0
    assert _sent(out_b) > 0  # both sent, neither sent what the other did
    assert await _statuses(database_url) == {"sent": 200}


async def test_a_prompt_run_killed_mid_send_and_restarted_reaches_everyone(
    engine: AsyncEngine, database_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    """SIGKILL at the worst moment, while Slack takes a message the process will never record.

    With one send in flight at a time (TRUSTBOT_SEND_CONCURRENCY=1), that message is the only
    one that can be sent but not recorded: after the restart everyone has the prompt, and at
    most that one person has it twice. (With N sends in flight, at most N can be.)
    """
    del engine
    env = _env(emulator, database_url, TRUSTBOT_SEND_RATE="50", TRUSTBOT_SEND_CONCURRENCY="1")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "trustbot",
        "prompt",
        "--now",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    arrived = 0

    def kill_at_the_60th_prompt(method: str) -> None:
        nonlocal arrived
        if method == POST:
            arrived += 1
            if arrived == 60:  # Slack is taking this one: the process dies before recording it
                process.send_signal(signal.SIGKILL)

    emulator.call_observers.append(kill_at_the_60th_prompt)
    async with asyncio.timeout(60):
        _, err = await process.communicate()
    assert process.returncode == -signal.SIGKILL, err.decode()[-2000:]
    emulator.call_observers.clear()
    assert 60 <= len(emulator.dm_message_counts()) < 200  # it died mid-run
    recorded = (await _statuses(database_url)).get("sent", 0)
    # Its claims would run out a minute later; move them to the past instead of waiting.
    check = create_engine(database_url)
    try:
        async with check.begin() as connection:
            claimed = await connection.execute(
                update(Delivery)
                .where(Delivery.status == DeliveryStatus.SENDING)
                .values(claimed_until=datetime.now(UTC) - timedelta(seconds=1))
                .returning(Delivery.id)
            )
            assert claimed.all()  # it held claims when it died
    finally:
        await check.dispose()

    code, out, err_text = await trustbot("prompt", "--now", env=env, cwd=tmp_path)

    assert code == 0, err_text
    assert _sent(out) == 200 - recorded  # the restart sent what was not recorded as sent
    counts = emulator.dm_message_counts()
    assert set(counts) == set(_people(200))  # nobody lost
    assert sum(counts.values()) - 200 <= 1  # at most the message in flight at the kill
    assert await _statuses(database_url) == {"sent": 200}
