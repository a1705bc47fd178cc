"""`trustbot demo`: a simulated workspace, end to end over real HTTP with real signatures.

The bot runs exactly as `trustbot serve` builds it, against the local Slack emulator. Simulated
employees answer with signed button clicks, story modals and reactions; time is compressed by
moving the bot's clock one week per round. It ends with the report a manager sees.
"""

from __future__ import annotations

import random
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from trustbot.administration import describe_summary, run_prompt_now
from trustbot.app import Runtime, open_runtime
from trustbot.config import load_settings
from trustbot.core.catalogue import Language
from trustbot.core.periods import period_of, period_start
from trustbot.core.reports import DEFAULT_WEEKS, current_trust_report
from trustbot.core.rules import CALL_ME_WAY
from trustbot.devtools.driver import SlackDriver
from trustbot.devtools.emulator import EmulatedUser, LoopbackServer, SlackEmulator
from trustbot.devtools.render import render_blocks_as_text
from trustbot.render.charts import report_chart_png
from trustbot.slack.blocks.ids import (
    SCORE_ACTION_PREFIX,
    SHARE_STORY_ACTION,
    STORY_TEXT_ACTION,
    STORY_TEXT_BLOCK,
    STORY_VISIBILITY_ACTION,
    STORY_VISIBILITY_BLOCK,
)

TEAMS = ("Kundeservice", "Netværk", "Produkt", "Salg")
LEADERS_CHANNEL = "C0LEADERS"
CHART_FILE = "demo-output/trend-chart.png"
FIRST_NAMES = [
    "Anna",
    "Mads",
    "Sofie",
    "Frederik",
    "Ida",
    "Mikkel",
    "Emma",
    "Rasmus",
    "Laura",
    "Jonas",
    "Clara",
    "Oliver",
    "Freja",
    "Lucas",
    "Mathilde",
    "Emil",
    "Karoline",
    "Magnus",
    "Cecilie",
    "Christian",
    "Julie",
    "Anders",
    "Louise",
    "Nikolaj",
    "Maria",
    "Jakob",
    "Signe",
    "Søren",
    "Astrid",
    "Kasper",
    "Nanna",
    "Tobias",
    "Line",
    "Henrik",
    "Camilla",
    "Martin",
    "Rikke",
    "Peter",
    "Mette",
    "Thomas",
    "Sara",
    "Jesper",
    "Maja",
    "Morten",
    "Katrine",
    "Lars",
    "Helle",
    "Simon",
    "Trine",
    "Niels",
]
LAST_NAMES = [
    "Jensen",
    "Nielsen",
    "Hansen",
    "Pedersen",
    "Andersen",
    "Christensen",
    "Larsen",
    "Sørensen",
    "Rasmussen",
]
REACTIONS = ("heart", "raised_hands", "+1", "tada", "fire")
STORIES: dict[int, tuple[str, ...]] = {
    1: (
        "Kasper's two-line fix to the porting form cut support tickets by a third.",
        "We dropped one approval step from refunds after a chat at the coffee machine.",
        "A trainee renamed two buttons in the app; calls about top-ups fell the week after.",
        "Ten small tweaks to the store checklist, each from someone else, save an hour a day.",
    ),
    2: (
        "My team lead let me run the customer workshop on my own, first time ever.",
        "We shared the real numbers with everyone before the board meeting. It felt right.",
        "Nobody checked my expense report twice. That trust made me extra careful.",
        "I admitted a mistake in the campaign budget and got help, not blame.",
    ),
    3: (
        "Sofie tried a new onboarding call script. It worked, and now we all use it.",
        "I was backed up when I paused a campaign that looked wrong <!channel> & nobody blamed me.",
        "Frederik got the green light to test chat support at night. Customers loved it.",
        "We let the newest hire lead the retrospective, and she changed how we plan.",
    ),
    4: (
        "We launched the eSIM page with a spreadsheet and three people in two days.",
        "Reused last year's flyer design, saved a week, and customers liked it just as much.",
        "One shared doc instead of four tools: the roaming FAQ went live by lunch.",
        "A ten-minute stand-up replaced the weekly status meeting; nothing was lost.",
    ),
    5: (
        "Friday quiz in the network team turned into a brainstorm that solved the DNS issue.",
        "The support team's costume day got more 5-star reviews than any week this year.",
        "We celebrated the outage fix with cake and a silly trophy. Morale is sky high.",
        "Our sales team's playlist battle somehow doubled cross-selling this week.",
    ),
}


@dataclass
class Employee:
    """A simulated person: their team sets how engaged they are and how they score."""

    user: EmulatedUser
    team: str
    engagement: float
    mood: float


@dataclass
class WeekTally:
    """What happened in one simulated week."""

    answers: int = 0
    changed: int = 0
    stories: int = 0
    reactions: int = 0
    confirmations_expected: int = 0  # one private confirmation per score click
    reactors: list[str] = field(default_factory=list)


class DemoClock:
    """The bot's clock, moved by the demo: a week passes in a moment."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current


def _workspace(rng: random.Random, count: int) -> tuple[list[Employee], list[EmulatedUser]]:
    employees = []
    for index in range(count):
        team = TEAMS[index % len(TEAMS)]
        first = FIRST_NAMES[index % len(FIRST_NAMES)]
        last = LAST_NAMES[(index * 7 + index // len(FIRST_NAMES)) % len(LAST_NAMES)]
        user = EmulatedUser(
            id=f"U{1000 + index:05d}", name=first.lower(), real_name=f"{first} {last}"
        )
        employees.append(
            Employee(
                user=user,
                team=team,
                engagement={"Kundeservice": 0.85, "Netværk": 0.7, "Produkt": 0.8, "Salg": 0.6}[team]
                + rng.uniform(-0.1, 0.1),
                mood={"Kundeservice": 3.6, "Netværk": 3.2, "Produkt": 3.9, "Salg": 3.4}[team]
                + rng.uniform(-0.5, 0.5),
            )
        )
    extras = [
        EmulatedUser(id="U09000", name="mette.ceo", real_name="Mette Lund (CEO)"),
        EmulatedUser(id="U09001", name="hr", real_name="Jonas Holm (HR)"),
        EmulatedUser(id="U09002", name="gone", real_name="Former Colleague", deleted=True),
        EmulatedUser(id="B09003", name="deploybot", real_name="Deploy Bot", is_bot=True),
    ]
    return employees, extras


async def _save_chart(runtime: Runtime) -> Path:
    """The digest's trend chart, written where the person running the demo can open it."""
    report = await current_trust_report(runtime.services, DEFAULT_WEEKS)
    return _write(Path(CHART_FILE), report_chart_png(report, runtime.services.language))


def _write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path.resolve()


def _say(message: str) -> None:
    print(message, flush=True)


async def run_demo(*, employees: int, weeks: int, seed: int, language: Language = "en") -> int:
    """Run the simulation and print the report; the exit status."""
    started = time.monotonic()
    rng = random.Random(seed)
    people, extras = _workspace(rng, employees)
    channels = {
        f"C0{index}TEAM": [p.user.id for p in people if p.team == team] + ["B09003", "U09002"]
        for index, team in enumerate(TEAMS)
    }
    bot_token = "xoxb-demo-" + secrets.token_hex(12)
    signing_secret = secrets.token_hex(16)
    emulator = SlackEmulator(
        bot_token=bot_token,
        users=[p.user for p in people] + extras,
        channels={**channels, LEADERS_CHANNEL: ["U09000", "U09001"]},
        usergroups={"S0LEADERS": ["U09000", "U09001"]},
    )
    with tempfile.TemporaryDirectory(prefix="trustbot-demo-") as workdir:
        database = Path(workdir) / "trustbot-demo.db"
        async with emulator:
            settings = load_settings(
                SLACK_BOT_TOKEN=bot_token,
                SLACK_SIGNING_SECRET=signing_secret,
                SLACK_API_URL=emulator.base_url,
                TRUSTBOT_DATABASE_URL=f"sqlite:///{database}",
                TRUSTBOT_AUTO_MIGRATE=True,
                TRUSTBOT_PSEUDONYM_KEY=secrets.token_hex(32),
                TRUSTBOT_AUDIENCE=",".join(channels),
                TRUSTBOT_REPORT_VIEWERS="S0LEADERS",
                TRUSTBOT_LEADERSHIP_CHANNELS=LEADERS_CHANNEL,
                TRUSTBOT_TEAMS=",".join(
                    f"{team}={channel}" for team, channel in zip(TEAMS, channels, strict=True)
                ),
                TRUSTBOT_LANGUAGE=language,
                TRUSTBOT_MIN_GROUP_SIZE=5,
                # The emulator takes messages as fast as they come; Slack would not.
                TRUSTBOT_SEND_RATE=1000,
                TRUSTBOT_SEND_BURST=100,
            )
            first_monday = period_start(period_of(datetime.now(UTC), settings.zone)) - timedelta(
                weeks=weeks - 1
            )
            clock = DemoClock(datetime.combine(first_monday, datetime.min.time(), settings.zone))
            _say(f"trustbot demo: {len(people)} employees in {len(TEAMS)} teams, {weeks} weeks")
            _say(f"  Slack emulator at {emulator.url}, SQLite database at {database}")
            async with open_runtime(settings, clock=clock) as runtime:
                _say("  database migrated to the newest schema")
                bot = LoopbackServer(runtime.web_app())
                async with (
                    bot,
                    SlackDriver(
                        bot_url=bot.url + "/slack/events",
                        signing_secret=signing_secret,
                        emulator=emulator,
                    ) as driver,
                ):
                    _say(f"  bot listening at {bot.url}/slack/events\n")
                    for week in range(weeks):
                        clock.current = datetime.combine(
                            first_monday + timedelta(weeks=week),
                            datetime.min.time().replace(hour=9),
                            settings.zone,
                        )
                        await runtime.jobs.close()  # last week's round ends with its week
                        summary = await run_prompt_now(runtime)
                        tally = await _simulate_week(
                            rng=rng,
                            people=people,
                            week=week,
                            weeks=weeks,
                            emulator=emulator,
                            driver=driver,
                            clock=clock,
                        )
                        await emulator.wait_for(lambda: runtime.work.pending == 0, timeout=30)
                        clock.current += timedelta(days=2)  # Wednesday: a gentle reminder
                        await runtime.jobs.remind(clock.current)
                        reminders = await runtime.sender.drain(period=summary.period)
                        _say(
                            f"  {summary.period}  rule #{summary.rule_position}  "
                            f"{summary.sent:>3} prompts  {tally.answers:>3} answers "
                            f"({tally.changed} changed)  {tally.stories} stories  "
                            f"{tally.reactions} reactions  {reminders.sent:>2} reminders"
                        )
                    again = await run_prompt_now(runtime)
                    _say(f"\n  prompting again this week: {describe_summary(again)}")
                    refusal = await _slash_command(driver, emulator, people[0].user.id, "")
                    _say(f"  an employee who tries /trust-report is told: {refusal.get('text')!r}")
                    report = (await _slash_command(driver, emulator, "U09000", str(weeks)))[
                        "blocks"
                    ]
                    clock.current += timedelta(days=2)  # Friday morning: the digest
                    posted = len(emulator.messages_in(LEADERS_CHANNEL))
                    await runtime.jobs.digest(clock.current)
                    await runtime.sender.drain()
                    digest = [
                        block
                        for message in emulator.messages_in(LEADERS_CHANNEL)[posted:]
                        for block in message.blocks
                    ]
                    chart = await _save_chart(runtime)
    names = {user.id: user.real_name for user in [p.user for p in people] + extras}
    _say("\n" + "=" * 72)
    _say("What Mette (CEO, in the leadership user group) sees after /trust-report:")
    _say("=" * 72)
    _say(render_blocks_as_text(report, names))
    _say("=" * 72)
    _say(f"Friday's digest in the leadership channel ({LEADERS_CHANNEL}):")
    _say("=" * 72)
    _say(render_blocks_as_text(digest, names))
    _say("=" * 72)
    _say(f"trend chart (posted with the digest) saved to {chart}")
    _say(f"demo finished in {time.monotonic() - started:.1f} s")
    return 0


async def _simulate_week(
    *,
    rng: random.Random,
    people: list[Employee],
    week: int,
    weeks: int,
    emulator: SlackEmulator,
    driver: SlackDriver,
    clock: DemoClock,
) -> WeekTally:
    tally = WeekTally()
    confirmations_before = len(emulator.ephemerals)
    lift = 0.5 * week / max(1, weeks - 1)  # the culture work slowly pays off
    prompts = {}
    for person in people:
        channel = emulator.dm_channel_for(person.user.id)
        prompts[person.user.id] = emulator.messages_in(channel)[-1]
    for person in people:
        clock.current += timedelta(minutes=rng.randint(1, 20))
        message = prompts[person.user.id]
        if rng.random() < person.engagement:
            score = _score(rng, person.mood + lift)
            await _expect_ok(
                driver.click_button(
                    user_id=person.user.id,
                    message=message,
                    action_id=f"{SCORE_ACTION_PREFIX}{score}",
                )
            )
            tally.answers += 1
            tally.confirmations_expected += 1
            if rng.random() < 0.08:
                await _expect_ok(
                    driver.click_button(
                        user_id=person.user.id,
                        message=message,
                        action_id=f"{SCORE_ACTION_PREFIX}{min(5, score + 1)}",
                    )
                )
                tally.changed += 1
                tally.confirmations_expected += 1
        if rng.random() < 0.12:
            await _share_story(rng, person, message, emulator, driver)
            tally.stories += 1
        if rng.random() < 0.15:
            await _expect_ok(
                driver.react(
                    user_id=person.user.id, message=message, reaction=rng.choice(REACTIONS)
                )
            )
            tally.reactions += 1
    await emulator.wait_for(
        lambda: len(emulator.ephemerals) >= confirmations_before + tally.confirmations_expected,
        timeout=30,
    )
    return tally


def _score(rng: random.Random, mean: float) -> int:
    return max(1, min(5, round(rng.gauss(mean, 0.8))))


async def _share_story(
    rng: random.Random,
    person: Employee,
    message: Any,
    emulator: SlackEmulator,
    driver: SlackDriver,
) -> None:
    opened = len(emulator.opened_views)
    await _expect_ok(
        driver.click_button(user_id=person.user.id, message=message, action_id=SHARE_STORY_ACTION)
    )
    await emulator.wait_for(lambda: len(emulator.opened_views) > opened, timeout=10)
    view = emulator.opened_views[opened]["view"]
    rule_number = _rule_number(view)
    options = STORIES.get(rule_number, STORIES[1])
    story = options[len(emulator.opened_views) % len(options)]
    visibility = rng.choices(["named", "anonymous", "private"], weights=[4, 4, 2])[0]
    values: dict[str, dict[str, dict[str, Any]]] = {
        STORY_TEXT_BLOCK: {STORY_TEXT_ACTION: {"type": "plain_text_input", "value": story}},
        STORY_VISIBILITY_BLOCK: {
            STORY_VISIBILITY_ACTION: {
                "type": "radio_buttons",
                "selected_option": {"value": visibility},
            }
        },
    }
    await _expect_ok(driver.submit_view(user_id=person.user.id, view=view, values=values))


def _rule_number(view: dict[str, Any]) -> int:
    return rule_in(view["blocks"][0]["elements"][0]["text"])


def rule_in(shown: str) -> int:
    """The position of the Call me rule a message shows (1 when it shows none)."""
    for rule in CALL_ME_WAY:
        if rule.en in shown or rule.da in shown:
            return rule.position
    return 1


async def _slash_command(
    driver: SlackDriver, emulator: SlackEmulator, user_id: str, text: str
) -> dict[str, Any]:
    """Run /trust-report as a person; the body the bot posted to the response_url."""
    before = len(emulator.responses)
    await _expect_ok(driver.send_command(user_id=user_id, text=text))
    await emulator.wait_for(lambda: len(emulator.responses) > before, timeout=30)
    body: dict[str, Any] = emulator.responses[before]["body"]
    return body


async def _expect_ok(request: Any) -> None:
    response = await request
    if response.status_code != 200:
        sys.exit(f"demo: the bot answered HTTP {response.status_code}: {response.text[:200]}")
