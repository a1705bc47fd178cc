"""Queueing a prompt run: one row per person, once; paused people left out; failed rows back
only when an operator asks; rows being sent or sent left alone."""

from __future__ import annotations

from sqlalchemy import update

from tests.factories import handle
from tests.unit.delivery.conftest import people, queue, row_of, rows
from trustbot.core.people import set_paused
from trustbot.core.prompts import Actor
from trustbot.core.services import Services
from trustbot.db.models import Delivery, DeliveryStatus
from trustbot.delivery.outbox import Recipient, enqueue_prompts


async def _set_status(services: Services, user: str, status: DeliveryStatus) -> None:
    async with services.transaction() as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.id == (await row_of(services, user)).id)
            .values(status=status, attempts=3, last_error="earlier trouble", claimed_by="x")
        )


async def test_one_row_per_person_with_a_sealed_address_and_no_user_id(
    services: Services,
) -> None:
    users = people(2500)  # more than one batch

    enqueued = await queue(services, users)

    assert (enqueued.audience, enqueued.queued, enqueued.paused) == (2500, 2500, 0)
    stored = await rows(services)
    round_id = enqueued.round_id
    assert set(stored) == {handle(services, "delivery", user, round_id) for user in users}
    for user in users[:5]:
        row = stored[handle(services, "delivery", user, round_id)]
        assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.PENDING, 0, None)
        assert row.address is not None
        assert user not in row.address
        assert services.keys.seal.open(row.address) == user


async def test_running_again_queues_nobody_twice(services: Services) -> None:
    users = people(30)
    await queue(services, users)

    again = await queue(services, [*users, "U99999"])

    assert again.queued == 1  # only the newcomer
    assert len(await rows(services)) == 31


async def test_people_who_paused_are_left_out(services: Services) -> None:
    users = people(5)
    for user in users[:2]:
        await set_paused(services, actor=Actor(platform="slack", user_id=user), paused=True)

    enqueued = await queue(services, users)

    assert (enqueued.queued, enqueued.paused, enqueued.audience) == (3, 2, 5)
    assert set(await rows(services)) == {
        handle(services, "delivery", user, enqueued.round_id) for user in users[2:]
    }


async def test_failed_rows_come_back_only_when_an_operator_asks(services: Services) -> None:
    users = people(4)
    await queue(services, users)
    await _set_status(services, users[0], DeliveryStatus.FAILED)
    await _set_status(services, users[1], DeliveryStatus.SENT)
    await _set_status(services, users[2], DeliveryStatus.SENDING)

    scheduled = await queue(services, users)
    assert scheduled.queued == 0
    assert (await row_of(services, users[0])).status is DeliveryStatus.FAILED

    operator = await enqueue_prompts(
        services,
        period=services.current_period(),
        recipients=[Recipient("slack", user, services.now()) for user in users],
        retry_failed=True,
    )

    assert operator is not None
    assert operator.queued == 1
    retried = await row_of(services, users[0])
    assert (retried.status, retried.attempts, retried.last_error) == (
        DeliveryStatus.PENDING,
        0,
        None,
    )
    # a sent row is never sent again, and a row another sender holds is left to it
    assert (await row_of(services, users[1])).status is DeliveryStatus.SENT
    held = await row_of(services, users[2])
    assert (held.status, held.claimed_by) == (DeliveryStatus.SENDING, "x")
