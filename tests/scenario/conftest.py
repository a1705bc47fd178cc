"""The whole bot over real HTTP: the Slack emulator, the bot's ASGI app, a signing driver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FixedClock, make_settings
from tests.slack_spec import assert_calls_match_spec
from trustbot.administration import PromptSummary, run_prompt_now
from trustbot.app import Runtime, open_runtime
from trustbot.core.services import Services
from trustbot.devtools.driver import SlackDriver
from trustbot.devtools.emulator import EmulatedUser, LoopbackServer, SlackEmulator, StoredMessage

BOT_TOKEN = "xoxb-scenario-token-1234"
SIGNING_SECRET = "scenario-signing-secret-5678"
EMPLOYEES = [f"U0EMP{index:02d}" for index in range(1, 7)]
MANAGER, OUTSIDER, FORMER, ROBOT = "U0BOSS", "U0OUTSIDE", "U0FORMER", "U0ROBOT"


@dataclass
class Stack:
    """One running bot and the fake Slack around it."""

    emulator: SlackEmulator
    driver: SlackDriver
    runtime: Runtime
    clock: FixedClock

    @property
    def services(self) -> Services:
        return self.runtime.services

    async def prompt(self) -> PromptSummary:
        """What `trustbot prompt --now` does: queue this week's prompts and send them."""
        return await run_prompt_now(self.runtime)

    def prompt_for(self, user_id: str) -> StoredMessage:
        """The latest prompt in the person's DM."""
        messages = self.emulator.messages_in(self.emulator.dm_channel_for(user_id))
        assert messages, f"{user_id} got no prompt"
        return messages[-1]

    async def share_story(self, user: str, words: str, visibility: str) -> dict[str, Any]:
        """Click "Share a story" in the person's prompt and submit the modal; the ack's body."""
        opened = len(self.emulator.opened_views)
        await self.driver.click_button(
            user_id=user, message=self.prompt_for(user), action_id="share_story"
        )
        await self.emulator.wait_for(lambda: len(self.emulator.opened_views) > opened)
        values = {
            "story": {"text": {"type": "plain_text_input", "value": words}},
            "visibility": {
                "choice": {"type": "radio_buttons", "selected_option": {"value": visibility}}
            },
        }
        response = await self.driver.submit_view(
            user_id=user, view=self.emulator.opened_views[opened], values=values
        )
        answer: dict[str, Any] = response.json()
        return answer

    async def count(self, model: Any) -> int:
        """Rows in a table."""
        async with self.services.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    async def count_where(self, model: Any, *conditions: Any) -> int:
        """Rows in a table that meet the conditions."""
        async with self.services.sessions() as session:
            query = select(func.count()).select_from(model).where(*conditions)
            return int(await session.scalar(query) or 0)

    async def answer(self, scores: dict[str, int]) -> None:
        """Each person clicks their score on their prompt; then the bot's work settles."""
        for user, score in scores.items():
            await self.driver.click_button(
                user_id=user, message=self.prompt_for(user), action_id=f"pulse_score:{score}"
            )
        await self.settle()

    async def next_week(self) -> None:
        """A week later, and the scheduled job that closes the rounds now over has run."""
        self.clock.now += timedelta(weeks=1)
        await self.runtime.jobs.close()

    async def settle(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has finished the work it does after acknowledging."""
        work = self.runtime.work
        await self.emulator.wait_for(lambda: work.pending == 0, timeout, what="background work")


@asynccontextmanager
async def running_stack(
    database_url: str,
    clock: FixedClock,
    *,
    employees: list[str] = EMPLOYEES,
    channels: dict[str, list[str]] | None = None,
    **settings: str,
) -> AsyncIterator[Stack]:
    """The bot built exactly as `trustbot serve` builds it, served on a loopback port;
    `channels` are more channels in the workspace, `settings` (TRUSTBOT_… names) override the
    defaults.

    It sends unpaced (1,000 a second, no second between two messages in one channel, see
    `_no_channel_pacing`): the weeks of a test pass in milliseconds, and waiting for the pacer's
    real-time clock would only make tests slower. The pacing has tests of its own
    (tests/unit/delivery/test_pacing.py, tests/scenario/test_delivery.py, which sets its rates),
    and the slow tests run real processes with the defaults."""
    users = [
        EmulatedUser(id=user, name=user.lower(), real_name=f"Person {user}") for user in employees
    ]
    users += [
        EmulatedUser(id=MANAGER, name="boss", real_name="Birgitte Boss"),
        EmulatedUser(id=OUTSIDER, name="outsider", real_name="Otto Outside"),
        EmulatedUser(id=FORMER, name="former", real_name="Frida Former", deleted=True),
        EmulatedUser(id=ROBOT, name="robot", real_name="Robot", is_bot=True),
    ]
    emulator = SlackEmulator(
        bot_token=BOT_TOKEN,
        users=users,
        channels={"C0TEAM": [*employees[:4], FORMER, ROBOT], **(channels or {})},
        usergroups={"S0LEADERS": [MANAGER], "S0CREW": employees[4:]},
        page_size=3,
    )
    await emulator.start()
    config = make_settings(
        database_url,
        SLACK_API_URL=emulator.base_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        TRUSTBOT_AUDIENCE="C0TEAM,S0CREW",
        TRUSTBOT_REPORT_VIEWERS="S0LEADERS",
        **{
            "TRUSTBOT_MIN_GROUP_SIZE": "3",
            "TRUSTBOT_SEND_RATE": "1000",
            "TRUSTBOT_SEND_BURST": "1000",
            **settings,
        },
    )
    try:
        async with open_runtime(config, clock=clock, prepare=False) as runtime:
            bot = LoopbackServer(runtime.web_app())
            await bot.start()
            driver = SlackDriver(
                bot_url=bot.url + "/slack/events",
                signing_secret=SIGNING_SECRET,
                emulator=emulator,
                clock=lambda: clock.now.timestamp(),
            )
            try:
                yield Stack(emulator=emulator, driver=driver, runtime=runtime, clock=clock)
                assert_calls_match_spec(emulator.calls)
            finally:
                await driver.aclose()
                await bot.stop()
    finally:
        await emulator.stop()


@pytest.fixture(autouse=True)
def _no_channel_pacing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slack's one message per second per channel is about real time; a test's week passes in
    milliseconds."""
    monkeypatch.setattr("trustbot.delivery.pacing.PER_CHANNEL_INTERVAL_S", 0.0)


@pytest.fixture(autouse=True)
def _charts_drawn_once(charts_drawn_once: None) -> None:
    """A report's chart is drawn once per distinct chart and test process (tests/conftest.py)."""


@pytest.fixture
def clock() -> FixedClock:
    """Thursday 26 November 2026, 10:00 UTC (2026-W48 in Copenhagen), ticking on from there:
    the bot runs for real, and retry waits must pass."""
    return FixedClock(datetime(2026, 11, 26, 10, 0, tzinfo=UTC), ticking=True)


@pytest.fixture
async def stack(engine: AsyncEngine, database_url: str, clock: FixedClock) -> AsyncIterator[Stack]:
    """The bot over an emptied database, with six employees, a manager and a few others."""
    del engine  # the fixture empties the database before the bot starts
    async with running_stack(database_url, clock) as running:
        yield running
