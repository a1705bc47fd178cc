"""Crontab expressions as HR writes them, turned into APScheduler triggers.

APScheduler 3 numbers weekdays from 0 = Monday, while crontab (and every cron guide HR will
read) uses 0 = Sunday; `CronTrigger.from_crontab` passes the numbers through unchanged, so
"0 9 * * 1" would fire on Tuesdays. Numeric weekdays are therefore rewritten as names first.

Daylight saving time, as cron does it: a time that does not exist on the day the clocks go
forward (02:30 in Copenhagen on the last Sunday of March) fires once, at the same distance past
the change (03:30 summer time); a time that happens twice on the day they go back (02:30 on the
last Sunday of October) fires once, the first time. APScheduler alone fires it both times.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

from apscheduler.triggers.cron import CronTrigger

_CRONTAB_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # 0..6, and 7 = sun again
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class CronError(ValueError):
    """A crontab expression that cannot be used; the message says why."""


class WallClockCronTrigger(CronTrigger):  # type: ignore[misc]  # APScheduler 3 has no types
    """A CronTrigger that fires a wall-clock time repeated by a DST change only once."""

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        fire: datetime | None = super().get_next_fire_time(previous_fire_time, now)
        while fire is not None and _repeated(fire):
            fire = super().get_next_fire_time(fire, fire)
        return fire


def _repeated(moment: datetime) -> bool:
    """Whether this is the second time its wall-clock time happens (clocks went back)."""
    return moment.fold == 1 and moment.replace(fold=0).utcoffset() != moment.utcoffset()


def cron_trigger(expression: str, zone: tzinfo) -> CronTrigger:
    """A trigger for a 5-field crontab expression (minute hour day month weekday) in `zone`."""
    fields = expression.split()
    if len(fields) != 5:
        raise CronError(
            f"{expression!r} is not a cron expression (5 fields: minute hour day month weekday)"
        )
    minute, hour, day, month, weekday = fields
    try:
        return WallClockCronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=_weekday_names(weekday),
            timezone=zone,
        )
    except ValueError as error:
        raise CronError(f"{expression!r} is not a valid cron expression: {error}") from None


def check_fires(trigger: CronTrigger, expression: str) -> None:
    """Refuse a schedule that never fires ("0 9 31 2 *", "0 9 30 4 *"): the scheduler would
    accept it and nothing would ever happen. (Every date comes back within 8 years; February 29
    does, so "0 9 29 2 *" is taken.)"""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    fire = trigger.get_next_fire_time(None, start)
    if fire is None or fire - start > timedelta(days=8 * 366):
        raise CronError(
            f"{expression!r} never fires (no such day in that month): check the day and month"
        )


def _weekday_names(field: str) -> str:
    """Crontab weekday numbers (0-7, Sunday = 0 or 7) as names APScheduler reads the same way."""
    if not any(character.isdigit() for character in field):
        return field
    days: list[int] = []
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() else 1
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            first_text, _, last_text = span.partition("-")
            first, last = _day_number(first_text), _day_number(last_text)
        else:
            first = last = _day_number(span)
            if step_text:
                last = 6
        if last < first:
            raise CronError(f"weekday range {span!r} runs backwards")
        days.extend(range(first, last + 1, step))
    return ",".join(dict.fromkeys(_CRONTAB_DAYS[day % 7] for day in days))


def _day_number(text: str) -> int:
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text)
    names = {name: index for index, name in enumerate(_CRONTAB_DAYS)}
    if text.lower()[:3] in names and len(text) == 3:
        return names[text.lower()]
    raise CronError(f"{text!r} is not a weekday (0-7 or sun-sat)")


def next_fire_times(trigger: CronTrigger, after: datetime, count: int) -> list[datetime]:
    """The next `count` times the trigger fires after `after`."""
    times: list[datetime] = []
    fire = trigger.get_next_fire_time(None, after)
    while fire is not None and len(times) < count:
        times.append(fire)
        fire = _after(trigger, fire)
    return times


def _after(trigger: CronTrigger, fire: datetime) -> datetime | None:
    """The fire time after `fire`. (Not `fire + 1 s`: adding to an aware datetime moves its
    wall clock and drops its fold, which in the repeated hour of a DST change goes back in time.)"""
    following: datetime | None = trigger.get_next_fire_time(fire, fire)
    return following


def last_fire_time(trigger: CronTrigger, now: datetime, lookback: timedelta) -> datetime | None:
    """The latest time the trigger fired at or before `now`, within `lookback`."""
    latest: datetime | None = None
    fire = trigger.get_next_fire_time(None, (now - lookback).astimezone(UTC))
    while fire is not None and fire <= now:
        latest = fire
        fire = _after(trigger, fire)
    return latest


def parse_duration(text: str) -> timedelta:
    """A duration such as "6h", "90m", "30s" or "1d"."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration such as 6h, 90m, 30s or 1d")
    amount, unit = int(match.group(1)), match.group(2).lower()
    return timedelta(**{_UNITS[unit]: amount})
