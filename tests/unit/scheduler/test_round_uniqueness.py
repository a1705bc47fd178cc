"""A round is unique per (period, kind): openers racing each other end with one round, and each
person gets one prompt, whichever path opened it (the scheduled job, `prompt --now`)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import pytest

from tests.unit.scheduler.conftest import Rhythm, RhythmFactory
from trustbot.core.ports import Person
from trustbot.db.models import Delivery, DeliveryKind, JobRun, Round

PEOPLE = [Person(f"U0R{n:02d}") for n in range(12)]
MONDAY_0900 = datetime(2026, 11, 23, 8, tzinfo=UTC)


def sent_to(*processes: Rhythm) -> Counter[str]:
    return Counter(user for p in processes for user, _, _ in p.notifier.prompts)


@pytest.mark.parametrize("openers", ["scheduled+scheduled", "now+now", "scheduled+now"])
async def test_two_openers_at_once_make_one_round_and_one_prompt_each(
    rhythm: RhythmFactory, openers: str
) -> None:
    one, two = [await rhythm(PEOPLE, own_engine=True) for _ in range(2)]
    one.clock.now = MONDAY_0900

    def open_(process: Rhythm, how: str) -> asyncio.Future[object]:
        if how == "now":
            return asyncio.ensure_future(process.jobs.prompt(now=True))
        return asyncio.ensure_future(process.jobs.prompt(MONDAY_0900))

    first, second = openers.split("+")
    results = await asyncio.gather(open_(one, first), open_(two, second))
    await asyncio.gather(one.sender.drain(), two.sender.drain())

    assert await one.count(Round) == 1
    assert await one.count(Delivery, Delivery.kind == DeliveryKind.PROMPT) == len(PEOPLE)
    assert sent_to(one, two) == Counter(person.user_id for person in PEOPLE)
    opened = [e.round_opened for enqueued in results for e in enqueued]  # type: ignore[attr-defined]
    assert opened.count(True) == 1
    if openers == "scheduled+scheduled":
        assert await one.count(JobRun, JobRun.name == "prompt") == 1
        assert len(opened) == 1  # the second found the run done and did nothing


async def test_many_openers_at_once_still_make_one_round(rhythm: RhythmFactory) -> None:
    processes = [await rhythm(PEOPLE, own_engine=True) for _ in range(4)]
    processes[0].clock.now = MONDAY_0900

    await asyncio.gather(*(p.jobs.prompt(now=True) for p in processes))
    await asyncio.gather(*(p.sender.drain() for p in processes))

    assert await processes[0].count(Round) == 1
    assert sent_to(*processes) == Counter(person.user_id for person in PEOPLE)
