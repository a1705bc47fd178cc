"""Rule rotation through the scheduled prompt job: one rule per period, in order, cycling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.unit.scheduler.conftest import Rhythm, RhythmFactory
from trustbot.core.ports import Person
from trustbot.db.models import Round
from trustbot.scheduler.jobs import job_specs

PEOPLE = [Person("U0ANNA"), Person("U0BO")]


def mondays(first: datetime, count: int) -> list[datetime]:
    return [first + timedelta(weeks=n) for n in range(count)]


async def prompt_week(setup: Rhythm, after: datetime) -> tuple[str, int] | None:
    """Fire the prompt job for the first run after `after`: (period, rule) of a new run."""
    [spec] = [spec for spec in job_specs(setup.services) if spec.name == "prompt"]
    fire = spec.trigger.get_next_fire_time(None, after)
    assert fire is not None
    setup.clock.now = fire.astimezone(UTC)
    runs = await setup.jobs.prompt(fire)
    if not runs:
        return None
    [enqueued] = runs
    return enqueued.period, enqueued.rule_position


START = datetime(2026, 11, 20, tzinfo=UTC)  # the Friday before 2026-W48


async def test_one_rule_per_week_in_order_cycling(rhythm: RhythmFactory) -> None:
    setup = await rhythm(PEOPLE)

    weeks = [await prompt_week(setup, friday) for friday in mondays(START, 7)]

    assert weeks == [
        ("2026-W48", 1),
        ("2026-W49", 2),
        ("2026-W50", 3),
        ("2026-W51", 4),
        ("2026-W52", 5),
        ("2026-W53", 1),
        ("2027-W01", 2),
    ]
    assert await setup.count(Round) == 7


async def test_a_second_run_in_the_same_week_opens_nothing(rhythm: RhythmFactory) -> None:
    setup = await rhythm(PEOPLE)
    assert await prompt_week(setup, START) == ("2026-W48", 1)

    assert (
        await prompt_week(setup, START) is None
    )  # the same fire again (a catch-up, a 2nd process)
    assert await prompt_week(await rhythm(PEOPLE), START) is None

    assert await setup.count(Round) == 1


async def test_first_rule_starts_the_rotation_and_a_quiet_week_skips_nothing(
    rhythm: RhythmFactory,
) -> None:
    setup = await rhythm(PEOPLE, TRUSTBOT_FIRST_RULE="4")
    fridays = mondays(START, 5)
    del fridays[2]  # no round in 2026-W50 (the bot was down all week)

    weeks = [await prompt_week(setup, friday) for friday in fridays]

    assert weeks == [("2026-W48", 4), ("2026-W49", 5), ("2026-W51", 1), ("2026-W52", 2)]


async def test_first_week_ties_the_rotation_to_the_calendar(rhythm: RhythmFactory) -> None:
    setup = await rhythm(PEOPLE, TRUSTBOT_FIRST_RULE="2", TRUSTBOT_FIRST_WEEK="2026-W49")
    fridays = mondays(START, 7)
    del fridays[3]  # no round in 2026-W51: its rule is skipped, the calendar goes on

    weeks = [await prompt_week(setup, friday) for friday in fridays]

    assert weeks == [
        ("2026-W48", 1),  # the week before the first week: the rule before
        ("2026-W49", 2),
        ("2026-W50", 3),
        ("2026-W52", 5),
        ("2026-W53", 1),
        ("2027-W01", 2),
    ]
