"""Fire times in Europe/Copenhagen across both DST changes of 2026 and 2027.

Copenhagen moves from CET (UTC+1) to CEST (UTC+2) at 02:00 on the last Sunday of March (02:00 to
02:59 does not exist that day) and back at 03:00 on the last Sunday of October (02:00 to 02:59
happens twice). The expected instants are written in UTC, worked out by hand from those rules.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from trustbot.scheduler.cron import (
    CronError,
    cron_trigger,
    last_fire_time,
    next_fire_times,
    parse_duration,
)
from trustbot.scheduler.jobs import fire_period

CPH = ZoneInfo("Europe/Copenhagen")
SPRING = {2026: datetime(2026, 3, 29, tzinfo=UTC), 2027: datetime(2027, 3, 28, tzinfo=UTC)}
AUTUMN = {2026: datetime(2026, 10, 25, tzinfo=UTC), 2027: datetime(2027, 10, 31, tzinfo=UTC)}


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)  # type: ignore[misc]


def fires(expression: str, after: datetime, count: int) -> list[datetime]:
    """The next fire times, as UTC instants (comparing instants, not wall clocks)."""
    return [
        fire.astimezone(UTC)
        for fire in next_fire_times(cron_trigger(expression, CPH), after, count)
    ]


def run_like_apscheduler(
    trigger: CronTrigger, start: datetime, end: datetime, step: timedelta
) -> list[datetime]:
    """Every run a scheduler polling every `step` makes between start and end: APScheduler's
    own loop (Job._get_run_times) asks for the next fire time after the previous one."""
    runs: list[datetime] = []
    next_run = trigger.get_next_fire_time(None, start)
    now = start
    while now <= end:
        while next_run is not None and next_run <= now:
            runs.append(next_run.astimezone(UTC))
            next_run = trigger.get_next_fire_time(next_run, now)
        now += step
    return runs


@pytest.mark.parametrize("year", [2026, 2027])
def test_a_daily_0230_job_fires_once_on_the_spring_forward_day(year: int) -> None:
    change = SPRING[year]  # 02:30 does not exist in Copenhagen that day
    day_before, day_after = change - timedelta(days=1), change + timedelta(days=1)

    assert fires("30 2 * * *", day_before, 3) == [
        day_before + timedelta(hours=1, minutes=30),  # 02:30 CET
        change + timedelta(hours=1, minutes=30),  # 03:30 CEST: the missing 02:30, once
        day_after + timedelta(minutes=30),  # 02:30 CEST
    ]
    runs = run_like_apscheduler(
        cron_trigger("30 2 * * *", CPH),
        day_before,
        day_after + timedelta(hours=6),
        timedelta(minutes=7),
    )
    assert [run.astimezone(CPH).date() for run in runs] == [
        day_before.date(),
        change.date(),
        day_after.date(),
    ]


@pytest.mark.parametrize("year", [2026, 2027])
def test_a_daily_0230_job_fires_once_on_the_fall_back_day(year: int) -> None:
    change = AUTUMN[year]  # 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET)
    day_before, day_after = change - timedelta(days=1), change + timedelta(days=1)

    assert fires("30 2 * * *", day_before, 3) == [
        day_before + timedelta(minutes=30),
        change + timedelta(minutes=30),  # the first 02:30 only
        day_after + timedelta(hours=1, minutes=30),  # 02:30 CET
    ]
    # The clock as a running scheduler sees it, polled every minute through the repeated hour.
    runs = run_like_apscheduler(
        cron_trigger("30 2 * * *", CPH), change, change + timedelta(hours=5), timedelta(minutes=1)
    )
    assert runs == [change + timedelta(minutes=30)]


@pytest.mark.parametrize("year", [2026, 2027])
def test_the_monday_0900_prompt_stays_at_0900_local_across_both_changes(year: int) -> None:
    spring, autumn = SPRING[year], AUTUMN[year]

    # The Monday before the spring change is in winter time, the Monday after in summer time.
    assert fires("0 9 * * MON", spring - timedelta(days=7), 2) == [
        spring - timedelta(days=6) + timedelta(hours=8),
        spring + timedelta(days=1, hours=7),
    ]
    assert fires("0 9 * * MON", autumn - timedelta(days=7), 2) == [
        autumn - timedelta(days=6) + timedelta(hours=7),
        autumn + timedelta(days=1, hours=8),
    ]
    for fire in next_fire_times(cron_trigger("0 9 * * MON", CPH), spring - timedelta(days=14), 4):
        local = fire.astimezone(CPH)
        assert (local.strftime("%a %H:%M"), fire_period(fire)) == (
            "Mon 09:00",
            f"{local.isocalendar().year}-W{local.isocalendar().week:02d}",
        )


@pytest.mark.parametrize("year", [2026, 2027])
def test_the_period_end_at_midnight_sunday_follows_the_change(year: int) -> None:
    autumn = AUTUMN[year]
    # Midnight between the change Sunday and Monday is 23:00 UTC (CET); the one before, 22:00.
    assert fires("0 0 * * MON", autumn - timedelta(days=7), 2) == [
        autumn - timedelta(days=7) + timedelta(hours=22),
        autumn + timedelta(hours=23),
    ]


def test_crontab_weekday_numbers_mean_what_crontab_says() -> None:
    monday = utc(2026, 11, 23)
    assert fires("0 9 * * 1", monday - timedelta(days=1), 1) == [monday + timedelta(hours=8)]
    assert [f.astimezone(CPH).strftime("%a") for f in fires("0 9 * * 0", monday, 2)] == [
        "Sun",
        "Sun",
    ]
    assert [f.astimezone(CPH).strftime("%a") for f in fires("0 9 * * 1-5", monday, 6)] == [
        "Mon",
        "Tue",
        "Wed",
        "Thu",
        "Fri",
        "Mon",
    ]
    with pytest.raises(CronError, match="5 fields"):
        cron_trigger("0 9 * *", CPH)
    with pytest.raises(CronError, match="runs backwards"):
        cron_trigger("0 9 * * 5-1", CPH)


def test_last_fire_time_looks_back_through_the_repeated_hour() -> None:
    """The look-up that catch-up and each run use must end (it once spun forever here)."""
    trigger = cron_trigger("30 2 * * *", CPH)
    change = AUTUMN[2026]
    found: list[datetime | None] = []
    worker = threading.Thread(
        target=lambda: found.append(
            last_fire_time(trigger, change + timedelta(hours=5), timedelta(days=8))
        ),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=10)

    assert [moment and moment.astimezone(UTC) for moment in found] == [
        change + timedelta(minutes=30)
    ]
    assert last_fire_time(trigger, change + timedelta(minutes=20), timedelta(hours=1)) is None


def test_durations() -> None:
    assert parse_duration("6h") == timedelta(hours=6)
    assert parse_duration(" 90m ") == timedelta(minutes=90)
    assert parse_duration("30S") == timedelta(seconds=30)
    assert parse_duration("1d") == timedelta(days=1)
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration("6 hours")
