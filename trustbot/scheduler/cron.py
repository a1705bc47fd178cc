"""Crontab expressions as HR writes them, turned into APScheduler triggers.

APScheduler 3 numbers weekdays from 0 = Monday, while crontab (and every cron guide HR will
read) uses 0 = Sunday; `CronTrigger.from_crontab` passes the numbers through unchanged, so
"0 9 * * 1" would fire on Tuesdays. Numeric weekdays are therefore rewritten as names first.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo

from apscheduler.triggers.cron import CronTrigger

_CRONTAB_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # 0..6, and 7 = sun again
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class CronError(ValueError):
    """A crontab expression that cannot be used; the message says why."""


def cron_trigger(expression: str, zone: tzinfo) -> CronTrigger:
    """A trigger for a 5-field crontab expression (minute hour day month weekday) in `zone`."""
    fields = expression.split()
    if len(fields) != 5:
        raise CronError(
            f"{expression!r} is not a cron expression (5 fields: minute hour day month weekday)"
        )
    minute, hour, day, month, weekday = fields
    try:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=_weekday_names(weekday),
            timezone=zone,
        )
    except ValueError as error:
        raise CronError(f"{expression!r} is not a valid cron expression: {error}") from None


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
    previous: datetime | None = None
    moment = after
    while len(times) < count:
        fire = trigger.get_next_fire_time(previous, moment)
        if fire is None:
            break
        times.append(fire)
        previous, moment = fire, fire + timedelta(seconds=1)
    return times


def last_fire_time(trigger: CronTrigger, now: datetime, lookback: timedelta) -> datetime | None:
    """The latest time the trigger fired at or before `now`, within `lookback`."""
    latest: datetime | None = None
    fire = trigger.get_next_fire_time(None, now - lookback)
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return latest


def parse_duration(text: str) -> timedelta:
    """A duration such as "6h", "90m", "30s" or "1d"."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration such as 6h, 90m, 30s or 1d")
    amount, unit = int(match.group(1)), match.group(2).lower()
    return timedelta(**{_UNITS[unit]: amount})
