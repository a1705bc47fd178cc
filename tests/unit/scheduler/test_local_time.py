"""TRUSTBOT_DELIVERY_TIME: the workspace's wall clock, or each person's own (their Slack tz).

With `local`, Monday 09:00 is Monday 09:00 wherever each person is: the job fires when that time
is first reached on Earth (UTC+14) and each prompt waits in the outbox until its person's 09:00.
Expected instants are in UTC, worked out by hand: New York is UTC-5 in winter and UTC-4 from the
second Sunday of March to the first Sunday of November, Tokyo is UTC+9 all year, Copenhagen
UTC+1 / UTC+2 (see test_cron.py).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.factories import by_user
from tests.unit.scheduler.conftest import Rhythm, RhythmFactory, wait_until
from trustbot.core.ports import Person
from trustbot.db.models import Delivery, DeliveryStatus
from trustbot.scheduler.jobs import job_specs

PEOPLE = [
    Person("U0CPH", "Europe/Copenhagen"),
    Person("U0NYC", "America/New_York"),
    Person("U0TYO", "Asia/Tokyo"),
    Person("U0KIR", "Pacific/Kiritimati"),  # UTC+14: the first 09:00 on Earth
    Person("U0NOTZ", None),  # Slack gave no zone: the workspace's
    Person("U0MARS", "Mars/Olympus_Mons"),  # a zone nobody knows: the workspace's
    Person("U0BLANK", ""),
]


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)  # type: ignore[misc]


def prompt_fire(setup: Rhythm, after: datetime) -> datetime:
    [spec] = [spec for spec in job_specs(setup.services) if spec.name == "prompt"]
    fire = spec.trigger.get_next_fire_time(None, after)
    assert fire is not None
    return fire


async def due_times(setup: Rhythm) -> dict[str, datetime]:
    """Each person's prompt: when it is due, by user id."""
    async with setup.services.sessions() as session:
        rows = (
            await session.execute(
                select(Delivery.round_id, Delivery.recipient, Delivery.next_attempt_at)
            )
        ).all()
    users = [person.user_id for person in PEOPLE]
    names = by_user(setup.services, "delivery", users, sorted({r for r, _, _ in rows if r}))
    due = {names[recipient]: when for _, recipient, when in rows}
    assert all(when is not None for when in due.values())
    return {user: when.astimezone(UTC) for user, when in due.items() if when is not None}


async def test_each_person_gets_monday_0900_in_their_own_zone(rhythm: RhythmFactory) -> None:
    setup = await rhythm(PEOPLE, TRUSTBOT_DELIVERY_TIME="local")
    # The week after Europe's spring change; New York has been on summer time since 8 March.
    fire = prompt_fire(setup, utc(2026, 3, 28))
    assert fire.astimezone(UTC) == utc(2026, 3, 29, 19)  # Monday 09:00 at UTC+14
    setup.clock.now = fire

    [enqueued] = await setup.jobs.prompt(fire)

    assert (enqueued.period, enqueued.queued) == ("2026-W14", len(PEOPLE))
    workspace = utc(2026, 3, 30, 7)  # 09:00 CEST
    assert await due_times(setup) == {
        "U0KIR": utc(2026, 3, 29, 19),
        "U0TYO": utc(2026, 3, 30, 0),
        "U0CPH": workspace,
        "U0NOTZ": workspace,
        "U0MARS": workspace,
        "U0BLANK": workspace,
        "U0NYC": utc(2026, 3, 30, 13),  # 09:00 EDT
    }


async def test_zones_that_change_on_other_days_keep_their_own_0900(rhythm: RhythmFactory) -> None:
    """Europe goes back to winter time on 25 October 2026, the US only on 1 November."""
    setup = await rhythm(PEOPLE, TRUSTBOT_DELIVERY_TIME="local")
    weeks = []
    for after in (utc(2026, 10, 24), utc(2026, 10, 31)):
        fire = prompt_fire(setup, after)
        setup.clock.now = fire
        [enqueued] = await setup.jobs.prompt(fire)
        weeks.append(enqueued.period)
        due = await due_times(setup)
        async with setup.services.transaction() as session:  # next week's rows only, please
            await session.execute(Delivery.__table__.delete())
        if after.day == 24:
            assert (due["U0CPH"], due["U0NYC"], due["U0TYO"]) == (
                utc(2026, 10, 26, 8),  # 09:00 CET
                utc(2026, 10, 26, 13),  # 09:00 EDT still
                utc(2026, 10, 26, 0),
            )
        else:
            assert (due["U0CPH"], due["U0NYC"], due["U0TYO"]) == (
                utc(2026, 11, 2, 8),
                utc(2026, 11, 2, 14),  # 09:00 EST
                utc(2026, 11, 2, 0),
            )
    assert weeks == ["2026-W44", "2026-W45"]


async def test_with_workspace_time_everyone_is_due_when_the_job_fires(
    rhythm: RhythmFactory,
) -> None:
    setup = await rhythm(PEOPLE)  # TRUSTBOT_DELIVERY_TIME=workspace, the default
    fire = prompt_fire(setup, utc(2026, 3, 28))
    assert fire.astimezone(UTC) == utc(2026, 3, 30, 7)
    setup.clock.now = fire + timedelta(seconds=3)

    await setup.jobs.prompt(fire)

    assert set((await due_times(setup)).values()) == {fire + timedelta(seconds=3)}


async def test_the_sender_sends_each_prompt_when_its_person_reaches_0900(
    rhythm: RhythmFactory,
) -> None:
    setup = await rhythm(PEOPLE, TRUSTBOT_DELIVERY_TIME="local")
    fire = prompt_fire(setup, utc(2026, 3, 28))
    setup.clock.now = fire
    await setup.jobs.prompt(fire)
    stop = asyncio.Event()
    sending = asyncio.create_task(setup.sender.run(stop))
    try:
        for moment, expected in (
            (utc(2026, 3, 29, 19, 30), {"U0KIR"}),
            (utc(2026, 3, 30, 0, 30), {"U0KIR", "U0TYO"}),
            (utc(2026, 3, 30, 7, 30), {"U0KIR", "U0TYO", "U0CPH", "U0NOTZ", "U0MARS", "U0BLANK"}),
            (utc(2026, 3, 30, 13, 30), {person.user_id for person in PEOPLE}),
        ):
            setup.clock.now = moment
            setup.sender.wake()
            await wait_until(
                lambda expected=expected: {u for u, _, _ in setup.notifier.prompts} == expected,
                f"prompts to {sorted(expected)}",
            )
    finally:
        stop.set()
        await sending
    assert len(setup.notifier.prompts) == len(PEOPLE)  # each once
    assert await setup.count(Delivery, Delivery.status == DeliveryStatus.SENT) == len(PEOPLE)
