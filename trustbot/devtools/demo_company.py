"""The simulated company both demos run: its people and stories, the bot's moved clock, the
settings they share, and how a demo prints what leadership sees."""

from __future__ import annotations

import random
import secrets
import sys
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from trustbot.app import Runtime
from trustbot.core.catalogue import Language
from trustbot.core.periods import period_of, period_start
from trustbot.core.reports import DEFAULT_WEEKS, current_trust_report
from trustbot.core.rules import CALL_ME_WAY
from trustbot.devtools.emulator import EmulatedUser
from trustbot.render.charts import report_chart_png

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


def company(rng: random.Random, count: int) -> tuple[list[Employee], list[EmulatedUser]]:
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


async def save_chart(runtime: Runtime) -> Path:
    """The digest's trend chart, written where the person running the demo can open it."""
    report = await current_trust_report(runtime.services, DEFAULT_WEEKS)
    return _write(Path(CHART_FILE), report_chart_png(report, runtime.services.language))


def _write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path.resolve()


def say(message: str) -> None:
    print(message, flush=True)


def draw_score(rng: random.Random, mean: float) -> int:
    return max(1, min(5, round(rng.gauss(mean, 0.8))))


def rule_in(shown: str) -> int:
    """The position of the Call me rule a message shows (1 when it shows none)."""
    for rule in CALL_ME_WAY:
        if rule.en in shown or rule.da in shown:
            return rule.position
    return 1


async def expect_ok(request: Awaitable[_Response]) -> None:
    """Await a request to the bot; end the demo unless it answered HTTP 200."""
    response = await request
    if response.status_code != 200:
        sys.exit(f"demo: the bot answered HTTP {response.status_code}: {response.text[:200]}")


class _Response(Protocol):
    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...


def shared_settings(database: Path, language: Language) -> dict[str, Any]:
    """The settings both demos run the bot with, besides the platform's."""
    return {
        "TRUSTBOT_DATABASE_URL": f"sqlite:///{database}",
        "TRUSTBOT_AUTO_MIGRATE": True,
        "TRUSTBOT_PSEUDONYM_KEY": secrets.token_hex(32),
        "TRUSTBOT_LANGUAGE": language,
        "TRUSTBOT_MIN_GROUP_SIZE": 5,
        # The emulators take messages as fast as they come; Slack and Teams would not.
        "TRUSTBOT_SEND_RATE": 1000,
        "TRUSTBOT_SEND_BURST": 100,
    }


@dataclass
class Calendar:
    """The demo's weeks: the first Monday, ``weeks`` before this one, and the bot's clock."""

    first_monday: date
    zone: ZoneInfo
    clock: DemoClock

    @classmethod
    def weeks_back(cls, weeks: int, zone: ZoneInfo) -> Calendar:
        first_monday = period_start(period_of(datetime.now(UTC), zone)) - timedelta(weeks=weeks - 1)
        start = datetime.combine(first_monday, datetime.min.time(), zone)
        return cls(first_monday, zone, DemoClock(start))

    def monday_morning(self, week: int) -> None:
        """Move the bot's clock to 9:00 on the Monday of ``week`` (0 is the first)."""
        self.clock.current = datetime.combine(
            self.first_monday + timedelta(weeks=week),
            datetime.min.time().replace(hour=9),
            self.zone,
        )


def print_results(sections: list[tuple[str, str]], chart_note: str, started: float) -> None:
    """What leadership sees, one titled section each, then the chart and the time taken."""
    for index, (title, text) in enumerate(sections):
        say(("" if index else "\n") + "=" * 72)
        say(title)
        say("=" * 72)
        say(text)
    say("=" * 72)
    say(chart_note)
    say(f"demo finished in {time.monotonic() - started:.1f} s")
