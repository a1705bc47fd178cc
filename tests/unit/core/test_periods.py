"""Periods: ISO weeks seen in the configured time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from trustbot.core.periods import (
    parse_period,
    period_index,
    period_of,
    period_start,
    recent_periods,
)

CPH = ZoneInfo("Europe/Copenhagen")
UTC_ZONE = ZoneInfo("UTC")


def test_fixture_moment_is_week_48() -> None:
    assert period_of(datetime(2026, 11, 26, 10, 0, tzinfo=UTC), CPH) == "2026-W48"


def test_sunday_late_utc_is_already_monday_in_copenhagen() -> None:
    # Sunday 29 November 2026 23:30 UTC is Monday 30 November 00:30 in Copenhagen (CET, +1).
    sunday_night = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)
    assert period_of(sunday_night, UTC_ZONE) == "2026-W48"
    assert period_of(sunday_night, CPH) == "2026-W49"


def test_sunday_just_before_midnight_in_copenhagen_is_still_the_old_week() -> None:
    # 22:59 UTC is 23:59 CET on Sunday.
    assert period_of(datetime(2026, 11, 29, 22, 59, tzinfo=UTC), CPH) == "2026-W48"
    assert period_of(datetime(2026, 11, 29, 23, 0, tzinfo=UTC), CPH) == "2026-W49"


def test_summer_time_boundary_uses_plus_two() -> None:
    # Sunday 28 June 2026 22:30 UTC is Monday 00:30 CEST (+2).
    assert period_of(datetime(2026, 6, 28, 22, 30, tzinfo=UTC), CPH) == "2026-W27"
    assert period_of(datetime(2026, 6, 28, 21, 30, tzinfo=UTC), CPH) == "2026-W26"


def test_week_label_zero_pads() -> None:
    assert period_of(datetime(2026, 1, 7, 12, 0, tzinfo=UTC), CPH) == "2026-W02"


def test_year_boundary_iso_years() -> None:
    # 1 January 2027 is a Friday: it belongs to 2026-W53.
    assert period_of(datetime(2027, 1, 1, 12, 0, tzinfo=UTC), CPH) == "2026-W53"
    # 31 December 2024 is a Tuesday: it belongs to 2025-W01.
    assert period_of(datetime(2024, 12, 31, 12, 0, tzinfo=UTC), CPH) == "2025-W01"
    # New Year's Eve 23:30 UTC 2026 is already 1 January 2027 in Copenhagen, still W53.
    assert period_of(datetime(2026, 12, 31, 23, 30, tzinfo=UTC), CPH) == "2026-W53"
    # Sunday 3 January 2027 23:30 UTC is Monday 4 January in Copenhagen: 2027-W01.
    assert period_of(datetime(2027, 1, 3, 23, 30, tzinfo=UTC), CPH) == "2027-W01"


@pytest.mark.parametrize(
    ("label", "monday"),
    [
        ("2026-W48", date(2026, 11, 23)),
        ("2026-W53", date(2026, 12, 28)),
        ("2020-W53", date(2020, 12, 28)),
        ("2027-W01", date(2027, 1, 4)),
        ("2026-W01", date(2025, 12, 29)),
    ],
)
def test_period_start_is_the_monday(label: str, monday: date) -> None:
    assert period_start(label) == monday
    assert period_start(label).isoweekday() == 1


def test_week_53_exists_only_in_long_years() -> None:
    assert date.fromisocalendar(2026, 53, 1) == date(2026, 12, 28)
    assert date.fromisocalendar(2020, 53, 1) == date(2020, 12, 28)
    assert parse_period("2026-W53") == (2026, 53)
    assert parse_period("2020-W53") == (2020, 53)
    for year in (2025, 2027):
        with pytest.raises(ValueError, match="53"):
            date.fromisocalendar(year, 53, 1)
        with pytest.raises(ValueError, match="53"):
            parse_period(f"{year}-W53")


@pytest.mark.parametrize("label", ["2026-W00", "2026-W54", "2026W48", "abc", "", "2026-Wxx"])
def test_parse_period_refuses_bad_labels(label: str) -> None:
    with pytest.raises(ValueError, match=r"invalid literal|Invalid week"):
        parse_period(label)


def test_recent_periods_across_a_year_end() -> None:
    assert recent_periods("2027-W02", 5) == [
        "2026-W51",
        "2026-W52",
        "2026-W53",
        "2027-W01",
        "2027-W02",
    ]
    assert recent_periods("2026-W02", 4) == ["2025-W51", "2025-W52", "2026-W01", "2026-W02"]


def test_recent_periods_single_and_long() -> None:
    assert recent_periods("2026-W48", 1) == ["2026-W48"]
    weeks = recent_periods("2026-W48", 52)
    assert len(weeks) == 52
    assert len(set(weeks)) == 52
    assert weeks[-1] == "2026-W48"
    assert weeks[0] == "2025-W49"
    assert weeks == sorted(weeks)


def test_period_index_is_consecutive_across_year_ends() -> None:
    labels = recent_periods("2027-W03", 10)  # spans 2026-W53
    indexes = [period_index(label) for label in labels]
    assert indexes == list(range(indexes[0], indexes[0] + 10))
    assert period_index("2021-W01") - period_index("2020-W53") == 1
    assert period_index("2026-W01") - period_index("2025-W52") == 1


def test_period_index_epoch() -> None:
    # 5 January 1970 was the first Monday of ISO 1970-W02; week 1 of the count starts there.
    assert period_index("1970-W02") == 0
    assert period_index("1970-W03") == 1
