"""Catching up after downtime: a run missed by less than TRUSTBOT_MISFIRE_GRACE runs once at
start-up, however often the process starts; an older one is skipped and logged."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.scheduler.conftest import RhythmFactory
from trustbot.core.ports import Person
from trustbot.db.models import Delivery, DeliveryKind, JobRun, Round

PEOPLE = [Person(f"U0P{n}") for n in range(4)]
LEADERSHIP = {"TRUSTBOT_LEADERSHIP_CHANNELS": "C0LEAD", "digest_targets": ["C0LEAD"]}
MONDAY_0900 = datetime(2026, 11, 23, 8, tzinfo=UTC)  # 09:00 in Copenhagen, 2026-W48
FRIDAY_0800 = datetime(2026, 11, 27, 7, tzinfo=UTC)


async def test_a_prompt_missed_within_the_grace_runs_once_across_restarts(
    rhythm: RhythmFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="trustbot.scheduler")
    first = await rhythm(PEOPLE, **LEADERSHIP)
    first.clock.now = MONDAY_0900 + timedelta(hours=5, minutes=50)  # grace is 6h by default

    assert await first.scheduler.catch_up() == ["prompt"]
    assert await first.scheduler.catch_up() == []  # the same process again
    first.clock.now += timedelta(minutes=30)  # restarted twice, now past the grace too
    assert await (await rhythm(PEOPLE, **LEADERSHIP)).scheduler.catch_up() == []
    assert await (await rhythm(PEOPLE, **LEADERSHIP)).scheduler.catch_up() == []

    assert await first.count(Round) == 1
    assert await first.count(Delivery, Delivery.kind == DeliveryKind.PROMPT) == len(PEOPLE)
    assert await first.count(JobRun, JobRun.name == "prompt") == 1
    assert "catching up the prompt run of 2026-11-23T09:00+01:00" in caplog.text
    # Last week's reminder (Wednesday) and digest (Friday) are days old: skipped, and said so.
    assert "skipped the reminder run of 2026-11-18T13:00+01:00" in caplog.text
    assert "skipped the digest run of 2026-11-20T08:00+01:00" in caplog.text


async def test_a_prompt_missed_by_more_than_the_grace_is_skipped_and_logged(
    rhythm: RhythmFactory, caplog: pytest.LogCaptureFixture
) -> None:
    setup = await rhythm(PEOPLE, TRUSTBOT_MISFIRE_GRACE="2h")
    setup.clock.now = MONDAY_0900 + timedelta(hours=2, minutes=1)

    assert await setup.scheduler.catch_up() == []
    assert await (await rhythm(PEOPLE, TRUSTBOT_MISFIRE_GRACE="2h")).scheduler.catch_up() == []

    assert await setup.count(Round) == 0
    assert await setup.count(Delivery) == 0
    skipped = [r for r in caplog.records if "skipped the prompt run" in r.getMessage()]
    assert len(skipped) == 2  # once per start
    assert skipped[0].levelno == logging.WARNING
    assert skipped[0].getMessage() == (
        "skipped the prompt run of 2026-11-23T09:00+01:00: missed by 2:01:00, "
        "more than TRUSTBOT_MISFIRE_GRACE"
    )


async def test_a_prompt_that_ran_on_time_is_not_caught_up(rhythm: RhythmFactory) -> None:
    setup = await rhythm(PEOPLE)
    setup.clock.now = MONDAY_0900
    await setup.jobs.prompt(MONDAY_0900)
    setup.clock.now = MONDAY_0900 + timedelta(hours=1)

    assert await (await rhythm(PEOPLE)).scheduler.catch_up() == []
    assert await setup.count(Delivery) == len(PEOPLE)


async def test_two_processes_catching_up_at_once_run_the_missed_digest_once(
    rhythm: RhythmFactory,
) -> None:
    one, two = await rhythm(PEOPLE, **LEADERSHIP), await rhythm(PEOPLE, **LEADERSHIP)
    one.clock.now = FRIDAY_0800 + timedelta(hours=1)

    ran = await asyncio.gather(one.scheduler.catch_up(), two.scheduler.catch_up())

    assert any("digest" in names for names in ran)
    assert await one.count(Delivery, Delivery.kind == DeliveryKind.DIGEST) == 1
    assert await one.count(JobRun, JobRun.name == "digest:slack") == 1
    # And once more after both restart: nothing new.
    assert await (await rhythm(PEOPLE, **LEADERSHIP)).scheduler.catch_up() == []


async def test_a_missed_reminder_is_caught_up_once(rhythm: RhythmFactory) -> None:
    setup = await rhythm(PEOPLE)
    setup.clock.now = MONDAY_0900
    await setup.jobs.prompt(MONDAY_0900)
    await setup.sender.drain()
    setup.clock.now = datetime(2026, 11, 25, 12, 30, tzinfo=UTC)  # Wednesday 13:30, 30 min late

    assert await setup.scheduler.catch_up() == ["reminder"]
    assert await (await rhythm(PEOPLE)).scheduler.catch_up() == []

    assert await setup.count(Delivery, Delivery.kind == DeliveryKind.REMINDER) == len(PEOPLE)
