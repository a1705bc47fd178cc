"""A company on Slack and Teams, served by one trustbot over real HTTP, and what a curious
leader reads on every surface: the tools of the `test_leader_*` attacks.

People on Slack are in two teams (user groups); a few people answer on Teams. The leader is a
report viewer on both platforms: they answer on Teams and may read on either. k = 3: a group
needs 4 answers of 6 asked, and fewer than 3 not answering is a band.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FixedClock, make_settings
from tests.teams_cards import cards_in
from trustbot.administration import PromptSummary, run_prompt_now
from trustbot.app import Runtime, open_runtime
from trustbot.core.export import exported_aggregates
from trustbot.core.people import home_state
from trustbot.core.prompts import Actor
from trustbot.core.reports import ReportRequest, TrustReport, current_trust_report
from trustbot.core.services import Services
from trustbot.devtools.driver import SlackDriver
from trustbot.devtools.emulator import EmulatedUser, LoopbackServer, SlackEmulator
from trustbot.devtools.teams_driver import TeamsDriver
from trustbot.devtools.teams_emulator import DEFAULT_TENANT_ID, TeamsEmulator, TeamsUser
from trustbot.render.report import compose_digest
from trustbot.render.text import render_parts_text, render_report_text
from trustbot.slack.blocks.home import render_home_view

K = 3
SIGNING_SECRET = "leader-signing-secret-0123"
BOT_TOKEN = "xoxb-leader-bot-token-0123"
APP_ID = "0b7c3f1e-2d4a-4e5b-8c6d-7e8f9a0b1c2d"
TENANT = DEFAULT_TENANT_ID  # the emulated people's tenant: the bot is single-tenant
DEV = [f"U0DEV{index:02d}" for index in range(1, 8)]
OPS = [f"U0OPS{index:02d}" for index in range(1, 8)]
LEADER = "U0LEADER"  # reads on Slack; answers on Teams as TEAMS_LEADER
TEAMS_PEOPLE = [
    TeamsUser(aad_object_id=f"cccccccc-3333-4333-8333-{index:012d}", name=f"Teams person {index}")
    for index in range(1, 4)
]
TEAMS_LEADER = TeamsUser(
    aad_object_id="dddddddd-4444-4444-8444-000000000001", name="Lea Leader (on Teams)"
)
LEADERSHIP = "C0LEADERS"


@dataclass
class Company:
    """One trustbot serving both platforms, their emulators and drivers, and a hand on the clock."""

    slack: SlackEmulator
    slack_driver: SlackDriver
    teams: TeamsEmulator
    teams_driver: TeamsDriver
    runtime: Runtime
    clock: FixedClock
    tmp: dict[str, Any] = field(default_factory=dict)

    @property
    def services(self) -> Services:
        return self.runtime.services

    async def prompt(self) -> PromptSummary:
        """`trustbot prompt --now`: this week's prompts to everyone, on both platforms."""
        return await run_prompt_now(self.runtime)

    async def answer(self, scores: Iterable[tuple[str | TeamsUser, int]]) -> None:
        """Each person clicks a score on their latest prompt, on their own platform."""
        for person, score in scores:
            if isinstance(person, TeamsUser):
                prompt = self._teams_prompt(person)
                [card] = cards_in(prompt.activity)
                await self.teams_driver.execute(
                    person, verb="trustbot.score", reply_to_id=prompt.id, data=_score(card, score)
                )
            else:
                await self.slack_driver.click_button(
                    user_id=person,
                    message=self._slack_prompt(person),
                    action_id=f"pulse_score:{score}",
                )
        await self.settle()

    async def tell(self, person: str | TeamsUser, words: str, visibility: str) -> dict[str, Any]:
        """The person shares a story from their prompt; the platform's answer to the submit."""
        if isinstance(person, TeamsUser):
            prompt = self._teams_prompt(person)
            return await self.teams_driver.execute(
                person,
                verb="trustbot.story",
                reply_to_id=prompt.id,
                inputs={"story": words, "visibility": visibility},
            )
        opened = len(self.slack.opened_views)
        await self.slack_driver.click_button(
            user_id=person, message=self._slack_prompt(person), action_id="share_story"
        )
        await self.slack.wait_for(lambda: len(self.slack.opened_views) > opened)
        values = {
            "story": {"text": {"type": "plain_text_input", "value": words}},
            "visibility": {
                "choice": {"type": "radio_buttons", "selected_option": {"value": visibility}}
            },
        }
        response = await self.slack_driver.submit_view(
            user_id=person, view=self.slack.opened_views[opened], values=values
        )
        await self.settle()
        answer: dict[str, Any] = response.json()
        return answer

    async def next_week(self) -> None:
        """A week later, and the close job has run."""
        self.clock.now += timedelta(weeks=1)
        await self.runtime.jobs.close()

    async def settle(self) -> None:
        """Wait until the bot has finished the work it does after acknowledging."""
        work = self.runtime.work
        await self.slack.wait_for(lambda: work.pending == 0, 10.0, what="background work")

    def _slack_prompt(self, user: str) -> Any:
        messages = self.slack.messages_in(self.slack.dm_channel_for(user))
        assert messages, f"{user} got no prompt"
        return messages[-1]

    def _teams_prompt(self, user: TeamsUser) -> Any:
        sent = self.teams.activities_in(self.teams.personal_conversation(user))
        prompts = [a for a in sent if any(_verbs(card) for card in cards_in(a.activity))]
        assert prompts, f"{user.name} got no prompt"
        return prompts[-1]

    # ------------------------------------------------------------------ what a leader reads

    async def slack_report(self, text: str = "", user: str = LEADER) -> str:
        """`/trust-report text` on Slack: the ephemeral report's text, line by line."""
        before = len(self.slack.responses)
        response = await self.slack_driver.send_command(user_id=user, text=text)
        assert response.status_code == 200
        await self.slack.wait_for(lambda: len(self.slack.responses) > before, 30.0)
        await self.settle()
        body = self.slack.responses[before]["body"]
        return "\n".join(_block_texts(body.get("blocks", [])))

    async def teams_report(self, text: str = "", user: TeamsUser = TEAMS_LEADER) -> str:
        """`trust-report text` in the leader's personal chat on Teams: the card's text."""
        chat = self.teams.personal_conversation(user)
        before = len(self.teams.activities_in(chat))
        await self.teams_driver.message(user, f"trust-report {text}".strip())
        await self.teams.wait_for(lambda: len(self.teams.activities_in(chat)) > before, 30.0)
        [card] = cards_in(self.teams.activities_in(chat)[-1].activity)
        return "\n".join(_card_texts(card))

    async def home(self, user: str = LEADER) -> str:
        """The App Home tab the user's opening it publishes: its text, line by line."""
        published = len(self.slack.calls_to("views.publish"))
        event = {
            "type": "app_home_opened",
            "user": user,
            "channel": self.slack.dm_channel_for(user),
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        assert (await self.slack_driver.send_event(event)).status_code == 200
        await self.slack.wait_for(
            lambda: len(self.slack.calls_to("views.publish")) > published, 10.0
        )
        await self.settle()
        return "\n".join(_block_texts(self.slack.home_views[user]["blocks"]))

    async def core_report(self, request: ReportRequest | None = None) -> TrustReport:
        """The report every surface renders (their one core function)."""
        return await current_trust_report(self.services, request or ReportRequest())

    async def everything(self) -> dict[str, str]:
        """Every surface as a leader reads it now, keyed by surface: Slack /trust-report with
        several arguments, App Home (the leader's, the company's figures only), Teams
        trust-report, the digest (as the sender renders it), `trustbot report` and
        aggregates.csv."""
        seen: dict[str, str] = {}
        for text in ("", "12", "rule=1", "rule=2", "team=Dev", "team=Ops", "4 team=Dev"):
            seen[f"slack /trust-report {text}"] = _without_chart_note(await self.slack_report(text))
            seen[f"teams trust-report {text}"] = await self.teams_report(text)
        seen["app home"] = _company_lines(await self.home())
        report = await self.core_report()
        language = self.services.language
        timezone = self.services.settings.timezone
        seen["digest"] = render_parts_text(
            compose_digest(report, language=language, timezone=timezone), language
        )
        seen["trustbot report"] = render_report_text(
            await self.core_report(ReportRequest(12)), language=language, timezone=timezone
        )
        rows, _, _ = await exported_aggregates(self.services)
        seen["aggregates.csv"] = "\n".join(",".join(row) for row in rows)
        return seen

    async def home_of(self, services: Services, user: str) -> str:
        """The home tab of `user` built by `services` (another key, say), without HTTP."""
        report = await current_trust_report(services)
        state = await home_state(services, actor=Actor("slack", user), report=report)
        return _company_lines("\n".join(_block_texts(render_home_view(state)["blocks"])))


def _score(card: dict[str, Any], score: int) -> dict[str, Any]:
    for element in card["body"]:
        for action in element.get("actions", []):
            if action.get("data", {}).get("score") == score:
                return dict(action["data"])
    raise AssertionError(f"no score {score} button")


def _verbs(card: dict[str, Any]) -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute":
                found.append(str(node.get("verb")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


def _block_texts(blocks: list[dict[str, Any]]) -> list[str]:
    texts: list[str] = []
    for block in blocks:
        if "text" in block:
            texts.append(str(block["text"].get("text", "")))
        texts += [str(element.get("text", "")) for element in block.get("elements", [])]
    return texts


def _card_texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        if node.get("type") == "TextBlock":
            return [str(node.get("text", ""))]
        if node.get("type") == "TableRow":
            return ["  ".join(" ".join(_card_texts(cell)) for cell in node.get("cells", []))]
        return [text for value in node.values() for text in _card_texts(value)]
    if isinstance(node, list):
        return [text for value in node for text in _card_texts(value)]
    return []


def _without_chart_note(text: str) -> str:
    return text.replace("The trend chart is in your direct messages with trustbot.", "").rstrip()


def _company_lines(home: str) -> str:
    """A home tab's figures of the company (its own answers and choices are the reader's)."""
    lines = [re.sub(r"^You: .*? · ", "", line) for line in home.splitlines()]
    return "\n".join(line for line in lines if line.startswith(("everyone", "the round", "*2")))


@asynccontextmanager
async def company(
    database_url: str,
    clock: FixedClock,
    *,
    teams: dict[str, list[str]] | None = None,
    leader: str = LEADER,
    teams_people: list[TeamsUser] | None = None,
    teams_leader: TeamsUser = TEAMS_LEADER,
) -> AsyncIterator[Company]:
    """The company (or the one given: Slack teams by name, a Slack leader, Teams people),
    served; the Teams people have installed the app."""
    teams = teams if teams is not None else {"Dev": DEV, "Ops": OPS}
    on_teams = teams_people if teams_people is not None else [*TEAMS_PEOPLE, TEAMS_LEADER]
    slack_people = [*(user for members in teams.values() for user in members), leader]
    users = [
        EmulatedUser(id=user, name=user.lower(), real_name=f"Person {user}")
        for user in slack_people
    ]
    groups = {f"S0{name.upper()}": list(members) for name, members in teams.items()}
    async with (
        SlackEmulator(
            bot_token=BOT_TOKEN, users=users, channels={LEADERSHIP: [leader]}, usergroups=groups
        ) as slack,
        TeamsEmulator(app_id=APP_ID, users=on_teams) as emulator,
    ):
        settings = make_settings(
            database_url,
            SLACK_API_URL=slack.base_url,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            TRUSTBOT_AUDIENCE=",".join(groups),
            TRUSTBOT_TEAMS=",".join(f"{name}=S0{name.upper()}" for name in teams),
            TRUSTBOT_REPORT_VIEWERS=leader,
            TRUSTBOT_LEADERSHIP_CHANNELS=LEADERSHIP,
            TRUSTBOT_MIN_GROUP_SIZE=str(K),
            TEAMS_CLIENT_ID=APP_ID,
            TEAMS_TENANT_ID=TENANT,
            TEAMS_OPENID_URL=emulator.openid_url,
            TEAMS_SERVICE_URL=emulator.service_url,
            TRUSTBOT_TEAMS_REPORT_VIEWERS=teams_leader.aad_object_id,
            TRUSTBOT_SEND_RATE="1000",
            TRUSTBOT_SEND_BURST="1000",
        )
        async with open_runtime(
            settings,
            clock=clock,
            teams_token=lambda scope, tenant=None: emulator.mint(
                audience="https://api.botframework.com"
            ),
            prepare=False,
        ) as runtime:
            bot = LoopbackServer(runtime.web_app())
            await bot.start()
            slack_driver = SlackDriver(
                bot_url=bot.url + "/slack/events",
                signing_secret=SIGNING_SECRET,
                emulator=slack,
                clock=lambda: clock.now.timestamp(),
            )
            teams_driver = TeamsDriver(
                emulator=emulator, bot_url=bot.url + "/api/messages", clock=clock
            )
            try:
                for person in on_teams:
                    assert (await teams_driver.install(person)).status_code == 200
                yield Company(slack, slack_driver, emulator, teams_driver, runtime, clock)
            finally:
                await slack_driver.aclose()
                await teams_driver.aclose()
                await bot.stop()


def unpaced(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slack's one message per second per channel is about real time; here a week passes in
    milliseconds, so the sender need not wait a second before each person's next prompt."""
    monkeypatch.setattr("trustbot.delivery.pacing.PER_CHANNEL_INTERVAL_S", 0.0)


@pytest.fixture
def fast_weeks(monkeypatch: pytest.MonkeyPatch) -> None:
    """No wait between two messages in one channel (`unpaced`)."""
    unpaced(monkeypatch)


@pytest.fixture
async def firm(engine: AsyncEngine, database_url: str, fast_weeks: None) -> AsyncIterator[Company]:
    """The company over an emptied database, on Thursday of 2026-W48 (the clock ticks on)."""
    del engine, fast_weeks
    clock = FixedClock(datetime(2026, 11, 26, 10, 0, tzinfo=UTC), ticking=True)
    async with company(database_url, clock) as running:
        yield running
