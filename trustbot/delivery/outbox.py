"""The outbox: what must be sent, written in the same transaction as the decision to send it.

A prompt run opens the period's round and writes one `deliveries` row per recipient in one
transaction; a reminder run writes rows for those who have not answered; a digest run writes one
row per leadership channel. Each run is recorded in `job_runs` in that same transaction, so it
takes effect once however often it is started, on one process or several. The sender
(`delivery/sender.py`) drains the rows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, false, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from trustbot.core.privacy import SealError, random_id
from trustbot.core.rounds import open_round
from trustbot.core.services import Services
from trustbot.db.models import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    JobRun,
    PersonSetting,
    PulseAnswer,
    Round,
)
from trustbot.db.upsert import insert_for

logger = logging.getLogger(__name__)
INSERT_BATCH = 1000
# Prompt rows per statement: SQLAlchemy prepares each batch's parameters and reads its RETURNING
# rows on the event loop's thread (~0.1 ms a row), so a batch is kept to a few tens of ms.
PROMPT_BATCH = 250
YIELD_EVERY = 200  # people hashed or sealed between two yields to the event loop (~2 ms)
# The unique key of an outbox row: one message per recipient, period, kind and reminder number.
_ONE_PER_RECIPIENT = [
    Delivery.period,
    Delivery.kind,
    Delivery.platform,
    Delivery.recipient,
    Delivery.seq,
]


@dataclass(frozen=True, slots=True)
class Recipient:
    """Someone to prompt: who they are on their platform, and when their prompt is due."""

    platform: str
    user_id: str
    due_at: datetime
    team: str | None = None


@dataclass(frozen=True, slots=True)
class Enqueued:
    """What a prompt run put in the outbox."""

    round_id: int
    period: str
    rule_position: int
    round_opened: bool
    audience: int
    queued: int  # rows new or sent back to pending by this run
    paused: int


async def mark_job_run(*, session: AsyncSession, name: str, key: str, now: datetime) -> bool:
    """Record that job `name` ran for `key`; False when it had already (then do nothing)."""
    insert = insert_for(session, JobRun).values(name=name, key=key, ran_at=now)
    done = await session.scalar(
        insert.on_conflict_do_nothing(index_elements=[JobRun.name, JobRun.key]).returning(
            JobRun.name
        )
    )
    return done is not None


async def paused_subjects(services: Services, subjects: list[str]) -> set[str]:
    """Which of these settings subjects have paused their prompts."""
    paused: set[str] = set()
    async with services.sessions() as session:
        for start in range(0, len(subjects), INSERT_BATCH):
            chunk = subjects[start : start + INSERT_BATCH]
            paused.update(
                await session.scalars(
                    select(PersonSetting.subject).where(
                        PersonSetting.subject.in_(chunk), PersonSetting.paused
                    )
                )
            )
    return paused


async def enqueue_prompts(
    services: Services,
    *,
    period: str,
    recipients: list[Recipient],
    job_key: str | None = None,
    retry_failed: bool = False,
) -> Enqueued | None:
    """Open `period`'s round and queue its prompt for every recipient who has not had it.

    With `job_key`, the scheduled prompt job for that key runs once: None when it had already
    run. `retry_failed` (an operator's `prompt --now`) sends rows that failed back to pending.
    People who paused their prompts are left out.
    """
    settings = services.settings
    now = services.now()
    # Keyed hashes and sealing are CPU work, a few microseconds each: done a chunk at a time,
    # yielding to the event loop in between, so that clicks are acknowledged meanwhile.
    subjects = await _each(
        recipients, lambda r: services.keys.settings_subject(r.user_id, r.platform)
    )
    paused = await paused_subjects(services, list(subjects.values()))
    active = [r for r in recipients if subjects[r.user_id] not in paused]
    people = await _each(active, lambda r: services.keys.pseudonym(r.user_id, r.platform))
    async with services.transaction() as session:
        if job_key is not None and not await mark_job_run(
            session=session, name="prompt", key=job_key, now=now
        ):
            return None
        round_, opened = await open_round(
            session=session,
            rules=services.rules,
            period=period,
            now=now,
            first_rule=settings.first_rule,
            first_week=settings.first_week,
        )
        # On the table, not the ORM class: the ORM would send an upsert with RETURNING one row
        # at a time; Core sends the rows in a few multi-row statements ("insertmanyvalues").
        insert = insert_for(session, cast(Table, Delivery.__table__))
        retry = Delivery.status == DeliveryStatus.FAILED if retry_failed else false()
        upsert = insert.on_conflict_do_update(
            index_elements=_ONE_PER_RECIPIENT,
            # A row from before sealed addresses existed gets one; a failed row is retried
            # when an operator asks. Every value comes from the row offered (`excluded`): with
            # no bound value in SET, the rows go in batches, not one statement per row.
            set_={
                column: insert.excluded[column]
                for column in (
                    "address",
                    "team",
                    "status",
                    "attempts",
                    "next_attempt_at",
                    "last_error",
                )
            },
            where=and_(
                Delivery.status != DeliveryStatus.SENT,
                (Delivery.address.is_(None)) | retry,
            ),
        ).returning(Delivery.id)
        # Rows in delivery-handle order, not the audience's: in a channel's or user group's
        # member-list order, physical order would tie each handle to a person for anyone
        # holding that list (ids are random). The order is the same in every process, so
        # concurrent openers of a round take their row locks in the same order (a random
        # order each deadlocked on PostgreSQL).
        round_id = round_.id
        handles = await _each(
            active, lambda r: services.keys.delivery_handle(people[r.user_id], round_id)
        )
        active.sort(key=lambda r: handles[r.user_id])
        queued = 0
        for start in range(0, len(active), PROMPT_BATCH):
            await asyncio.sleep(0)
            rows = [
                {
                    "id": random_id(),
                    "kind": DeliveryKind.PROMPT.value,
                    "period": period,
                    "round_id": round_.id,
                    "platform": recipient.platform,
                    "recipient": handles[recipient.user_id],
                    "seq": 0,
                    "status": DeliveryStatus.PENDING.value,
                    "address": services.keys.seal.seal(recipient.user_id),
                    "team": recipient.team,
                    "attempts": 0,
                    "last_error": None,
                    "next_attempt_at": recipient.due_at,
                }
                for recipient in active[start : start + PROMPT_BATCH]
            ]
            result = await session.execute(upsert, rows)
            queued += len(result.all())
    return Enqueued(
        round_id=round_.id,
        period=period,
        rule_position=round_.rule.position,
        round_opened=opened,
        audience=len(recipients),
        queued=queued,
        paused=len(recipients) - len(active),
    )


async def _each(recipients: list[Recipient], value: Callable[[Recipient], str]) -> dict[str, str]:
    """`value` of each recipient, by user id, worked out a chunk at a time between yields."""
    values: dict[str, str] = {}
    for start in range(0, len(recipients), YIELD_EVERY):
        values.update((r.user_id, value(r)) for r in recipients[start : start + YIELD_EVERY])
        await asyncio.sleep(0)
    return values


async def enqueue_reminders(
    services: Services, *, period: str, max_reminders: int
) -> tuple[int, int] | None:
    """Queue reminder number n (the next, up to `max_reminders`) for the open round of `period`.

    Only those whose prompt was delivered and who have not answered get one. (reminder number,
    rows queued), or None when there is no open round or every reminder has been sent.

    No stored value joins an answer to its delivery, so who has answered is worked out here,
    with the key: each sent prompt's sealed address is opened and the person's answer handle
    computed, before the write transaction and a batch at a time (yielding to the event loop
    between batches); in the transaction, the answers are looked up by those handles.
    """
    now = services.now()
    open_round = select(Round.id).where(
        Round.period == period, Round.kind == "pulse", Round.closed_at.is_(None)
    )
    async with services.sessions() as session:
        round_id = await session.scalar(open_round)
        if round_id is None:
            return None
        prompts = (
            await session.execute(
                select(
                    Delivery.platform, Delivery.recipient, Delivery.address, Delivery.team
                ).where(
                    Delivery.round_id == round_id,
                    Delivery.kind == DeliveryKind.PROMPT,
                    Delivery.status == DeliveryStatus.SENT,
                    Delivery.address.is_not(None),
                )
            )
        ).all()
    handles: list[dict[str, Any]] = []  # one per prompt: its answer handle, sorted by recipient
    for start in range(0, len(prompts), INSERT_BATCH):
        for row in prompts[start : start + INSERT_BATCH]:
            try:
                user_id = services.keys.seal.open(row.address)
            except SealError:  # sealed under another key: the sender cannot send it either
                continue
            person = services.keys.pseudonym(user_id, row.platform)
            handles.append({"answer": services.keys.answer_handle(person, round_id), "row": row})
        await asyncio.sleep(0)  # opening seals is CPU work: let clicks in between batches
    handles.sort(key=lambda item: item["row"].recipient)  # one lock order for every process
    async with services.transaction() as session:
        if await session.scalar(open_round) != round_id:
            return None
        for number in range(1, max_reminders + 1):
            if await mark_job_run(
                session=session, name="reminder", key=f"{period}:{number}", now=now
            ):
                break
        else:
            return None
        upsert = (
            insert_for(session, cast(Table, Delivery.__table__))
            .on_conflict_do_nothing(index_elements=_ONE_PER_RECIPIENT)
            .returning(Delivery.id)
        )
        queued = 0
        for start in range(0, len(handles), INSERT_BATCH):
            batch = handles[start : start + INSERT_BATCH]
            answered = set(
                await session.scalars(
                    select(PulseAnswer.respondent).where(
                        PulseAnswer.round_id == round_id,
                        PulseAnswer.respondent.in_([item["answer"] for item in batch]),
                    )
                )
            )
            rows = [
                {
                    "id": random_id(),
                    "kind": DeliveryKind.REMINDER.value,
                    "period": period,
                    "round_id": round_id,
                    "platform": item["row"].platform,
                    "recipient": item["row"].recipient,
                    "seq": number,
                    "status": DeliveryStatus.PENDING.value,
                    "address": item["row"].address,
                    "team": item["row"].team,
                    "attempts": 0,
                    "next_attempt_at": now,
                }
                for item in batch
                if item["answer"] not in answered
            ]
            if rows:
                queued += len((await session.execute(upsert, rows)).all())
        return number, queued


async def enqueue_digests(
    services: Services, *, period: str, platform: str, channels: list[str]
) -> int | None:
    """Queue the period's digest for each leadership channel, once per period per channel.

    The number of rows queued, or None when this period's digest run happened already.
    """
    now = services.now()
    async with services.transaction() as session:
        if not await mark_job_run(session=session, name=f"digest:{platform}", key=period, now=now):
            return None
        rows = [
            {
                "id": random_id(),
                "kind": DeliveryKind.DIGEST.value,
                "period": period,
                "round_id": None,
                "platform": platform,
                "recipient": services.keys.settings_subject(channel, f"{platform}-channel"),
                "seq": 0,
                "status": DeliveryStatus.PENDING.value,
                "address": services.keys.seal.seal(channel),
                "team": None,
                "attempts": 0,
                "next_attempt_at": now,
            }
            for channel in channels
        ]
        if not rows:
            return 0
        insert = insert_for(session, Delivery).values(rows)
        result = await session.execute(
            insert.on_conflict_do_nothing(index_elements=_ONE_PER_RECIPIENT).returning(Delivery.id)
        )
        return len(result.all())


async def skip_closed_rounds(*, session: AsyncSession, round_ids: list[int]) -> int:
    """Prompts and reminders of closed rounds still waiting are not sent any more."""
    if not round_ids:
        return 0
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.round_id.in_(round_ids),
            Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
        )
        .values(status=DeliveryStatus.SKIPPED, last_error="round closed", next_attempt_at=None)
        .returning(Delivery.id)
    )
    return len(result.all())


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    """Where a period's messages of one kind stand, and the latest reasons for failures."""

    by_status: dict[str, int]
    last_errors: list[str]

    def count(self, status: DeliveryStatus) -> int:
        """How many rows have `status`."""
        return self.by_status.get(status.value, 0)


async def outbox_counts(
    services: Services, *, period: str, kind: DeliveryKind = DeliveryKind.PROMPT
) -> OutboxCounts:
    """Counts by status (aggregated in SQL) and the commonest few failure reasons."""
    async with services.sessions() as session:
        rows = await session.execute(
            select(Delivery.status, func.count())
            .where(Delivery.period == period, Delivery.kind == kind)
            .group_by(Delivery.status)
        )
        by_status = {DeliveryStatus(status).value: int(n) for status, n in rows}
        errors = await session.scalars(
            select(Delivery.last_error)
            .where(
                Delivery.period == period,
                Delivery.kind == kind,
                Delivery.status == DeliveryStatus.FAILED,
                Delivery.last_error.is_not(None),
            )
            .group_by(Delivery.last_error)
            .order_by(func.count().desc(), Delivery.last_error)
            .limit(5)
        )
        return OutboxCounts(by_status, [str(error) for error in errors])
