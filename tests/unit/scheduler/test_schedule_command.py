"""`trustbot schedule`, run as HR would before going live: the next five runs of each job in
TRUSTBOT_TIMEZONE and the rule each coming prompt carries, for the repo's .env.example.

The expected times are computed here independently of APScheduler: walk the calendar day by day
and keep the days whose weekday the schedule names, at its wall-clock time in the zone.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.scenario.processes import trustbot
from trustbot.core.rules import CALL_ME_WAY

REPO = Path(__file__).resolve().parents[3]
CPH = ZoneInfo("Europe/Copenhagen")
LINE = re.compile(r"^  (\w{3} \d{4}-\d{2}-\d{2} \d{2}:\d{2} \w+)(?:  (.*))?$")


def env_without_settings(**values: str) -> dict[str, str]:
    """This process's environment minus SLACK_*/TRUSTBOT_*: the .env file decides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TRUSTBOT_"))}
    env.update(values)
    return env


def coming(
    weekday: int, at: time, after: datetime, count: int, zone: ZoneInfo = CPH
) -> list[datetime]:
    """The next `count` moments on ISO `weekday` at wall-clock `at` in `zone`."""
    found: list[datetime] = []
    day: date = after.astimezone(zone).date()
    while len(found) < count:
        moment = datetime.combine(day, at, tzinfo=zone)
        if day.isoweekday() == weekday and moment > after:
            found.append(moment)
        day += timedelta(days=1)
    return found


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def shown(moment: datetime) -> str:
    return moment.strftime("%a %Y-%m-%d %H:%M %Z")


def sections(out: str) -> dict[str, list[tuple[str, str]]]:
    """Each job's block: [(when, what)]."""
    blocks: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for line in out.splitlines():
        if line.split(" ")[0] in ("prompt", "close", "reminder", "digest"):
            current = blocks.setdefault(line.split()[0], [])
        elif (match := LINE.match(line)) is not None:
            assert current is not None
            current.append((match.group(1), match.group(2) or ""))
    return blocks


def either_window(expected: list[datetime], got: list[str]) -> bool:
    """A run may fire while the command runs: accept the window one run later too."""
    return got in ([shown(m) for m in expected[:5]], [shown(m) for m in expected[1:6]])


async def test_schedule_shows_the_example_env_files_coming_runs_and_rules(tmp_path: Path) -> None:
    shutil.copy(REPO / ".env.example", tmp_path / ".env")
    before = datetime.now(UTC)

    code, out, err = await trustbot("schedule", env=env_without_settings(), cwd=tmp_path)

    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == (
        "Schedules in Europe/Copenhagen (TRUSTBOT_TIMEZONE); "
        "no database yet: rules shown as if no round had been opened"
    )
    blocks = sections(out)
    assert list(blocks) == ["prompt", "close", "reminder", "digest"]
    assert "prompt   0 9 * * MON" in lines
    assert "reminder 0 13 * * WED" in lines
    assert "digest    off (no TRUSTBOT_LEADERSHIP_CHANNELS)" in lines
    assert blocks["digest"] == []

    prompts = blocks["prompt"]
    assert either_window(coming(1, time(9), before, 6), [when for when, _ in prompts])
    assert either_window(coming(1, time(0), before, 6), [when for when, _ in blocks["close"]])
    assert either_window(coming(3, time(13), before, 6), [when for when, _ in blocks["reminder"]])
    assert {what for _, what in blocks["reminder"]} == {
        "(to those who have not answered; at most 1)"
    }
    # No round yet: the coming prompts ask rules 1 to 5 in order, in Danish (the default), each
    # labelled with the ISO week its Monday is in.
    for number, (when, what) in enumerate(prompts, start=1):
        monday = datetime.strptime(when[4:14], "%Y-%m-%d").date()
        week = f"{monday.isocalendar().year}-W{monday.isocalendar().week:02d}"
        assert what == f"{week}, rule {number}: {CALL_ME_WAY[number - 1].da}"


async def test_schedule_follows_the_settings_over_the_example_file(tmp_path: Path) -> None:
    shutil.copy(REPO / ".env.example", tmp_path / ".env")
    before = datetime.now(UTC)
    first_week = before.astimezone(CPH).date() + timedelta(weeks=2)
    iso = first_week.isocalendar()
    env = env_without_settings(
        TRUSTBOT_PROMPT_SCHEDULE="30 7 * * 2",  # Tuesdays (crontab 2), 07:30
        TRUSTBOT_MAX_REMINDERS="0",
        TRUSTBOT_LEADERSHIP_CHANNELS="C0LEADS,C0BOARD",
        TRUSTBOT_LANGUAGE="en",
        TRUSTBOT_FIRST_RULE="3",
        TRUSTBOT_FIRST_WEEK=f"{iso.year}-W{iso.week:02d}",
        TRUSTBOT_DELIVERY_TIME="local",
    )

    code, out, err = await trustbot("schedule", env=env, cwd=tmp_path)

    assert code == 0, err
    blocks = sections(out)
    assert list(blocks) == ["prompt", "close", "digest", "reminder"]
    assert blocks["reminder"] == []
    assert "reminder  off (TRUSTBOT_MAX_REMINDERS=0)" in out.splitlines()
    # Each person gets it at 07:30 in their own zone: the times shown are the workspace's, and
    # the run starts when it is Tuesday 07:30 at UTC+14 (Monday evening in Copenhagen).
    assert either_window(coming(2, time(7, 30), before, 6), [w for w, _ in blocks["prompt"]])
    first_anywhere = coming(2, time(7, 30), before, 2, ZoneInfo("Etc/GMT-14"))
    assert any(
        out.splitlines()[-1]
        == f"The next run starts at {shown(m.astimezone(CPH))}, for people at UTC+14."
        for m in first_anywhere
    )
    assert "in their own Slack time zone" in out
    assert either_window(coming(5, time(8), before, 6), [w for w, _ in blocks["digest"]])
    assert {what for _, what in blocks["digest"]} == {"to C0LEADS, C0BOARD"}
    # Rotation by the calendar: rule 3 in the first week, one rule per week either side.
    for when, what in blocks["prompt"]:
        day = datetime.strptime(when[4:14], "%Y-%m-%d").date()
        weeks = (monday_of(day) - monday_of(first_week)).days // 7
        rule = CALL_ME_WAY[(2 + weeks) % 5]
        week = f"{day.isocalendar().year}-W{day.isocalendar().week:02d}"
        assert what == f"{week}, rule {rule.position}: {rule.en}"
