"""Two `trustbot prompt --now` started at once, as two OS processes on one database: one round,
and each person gets the week's prompt once (issue 6: "two processes never open the same
round")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import TEST_KEY
from tests.scenario.processes import base_env, trustbot
from trustbot.core.periods import period_of
from trustbot.db.models import Delivery, Round
from trustbot.devtools.emulator import EmulatedUser, SlackEmulator

pytestmark = pytest.mark.slow  # two real processes racing: runs in `make test-all`

TOKEN = "xoxb-concurrent-prompts-7"
PEOPLE = [f"U0TWO{index:02d}" for index in range(1, 13)]


@pytest.fixture
async def emulator() -> AsyncIterator[SlackEmulator]:
    users = [EmulatedUser(id=user, name=user.lower(), real_name=user) for user in PEOPLE]
    async with SlackEmulator(bot_token=TOKEN, users=users, page_size=5) as emulator:
        yield emulator


async def test_two_prompt_now_processes_at_once_open_one_round_and_prompt_each_person_once(
    engine: AsyncEngine, database_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    env = base_env(
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_API_URL=emulator.base_url,
        TRUSTBOT_PSEUDONYM_KEY=TEST_KEY,
        TRUSTBOT_DATABASE_URL=database_url,
        TRUSTBOT_AUDIENCE=",".join(PEOPLE),
        TRUSTBOT_LANGUAGE="en",
        TRUSTBOT_SEND_RATE="100",
        TRUSTBOT_SEND_BURST="100",
    )

    results = await asyncio.gather(
        trustbot("prompt", "--now", env=env, cwd=tmp_path),
        trustbot("prompt", "--now", env=env, cwd=tmp_path),
    )

    for code, _, err in results:
        assert code == 0, err
    period = period_of(datetime.now(UTC), ZoneInfo("Europe/Copenhagen"))
    for _, out, _ in results:  # each says what the week is, whichever process opened it
        assert out.startswith(f"{period}, rule 1: "), out
    for user in PEOPLE:
        assert len(emulator.messages_in(emulator.dm_channel_for(user))) == 1, user
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(Round)) == 1
        assert await connection.scalar(select(func.count()).select_from(Delivery)) == len(PEOPLE)
