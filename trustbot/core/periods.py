"""Periods: one ISO week in the configured time zone, written like 2026-W48."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


def period_of(moment: datetime, zone: ZoneInfo) -> str:
    """The ISO week label of an aware datetime, seen in `zone`."""
    year, week, _ = moment.astimezone(zone).isocalendar()
    return f"{year}-W{week:02d}"


def period_start(period: str) -> date:
    """The Monday that starts a period label."""
    year, week = parse_period(period)
    return date.fromisocalendar(year, week, 1)


def parse_period(period: str) -> tuple[int, int]:
    """The (ISO year, ISO week) of a label like 2026-W48."""
    year_text, _, week_text = period.partition("-W")
    year, week = int(year_text), int(week_text)
    date.fromisocalendar(year, week, 1)  # raises ValueError for a week that does not exist
    return year, week


def recent_periods(current: str, count: int) -> list[str]:
    """The `count` periods ending with `current`, oldest first."""
    monday = period_start(current)
    labels = []
    for back in range(count - 1, -1, -1):
        year, week, _ = (monday - timedelta(weeks=back)).isocalendar()
        labels.append(f"{year}-W{week:02d}")
    return labels


def period_index(period: str) -> int:
    """A running week number, so consecutive periods differ by one across year ends."""
    return (period_start(period) - date(1970, 1, 5)).days // 7
