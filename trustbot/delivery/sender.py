"""The sender: drains the outbox, paced to the platform's limits, safe to run in many processes.

Each row is claimed before it is sent (status `sending`, with an owner and an expiry), in a
short transaction that skips rows another sender holds (`FOR UPDATE SKIP LOCKED` on PostgreSQL;
SQLite has one writer at a time). The send happens after that commit, and the result is written
in another short transaction: no platform call is made with a transaction open.

What can go wrong, and what happens:

* a 429: the row waits for its Retry-After and the whole sender slows down (see pacing.py); it
  costs the person no attempt;
* a permanent refusal (the person or channel is gone): failed at once, with the reason;
* anything else (5xx, a dropped connection): retried with exponential backoff and jitter, and
  marked failed with the reason after TRUSTBOT_DELIVERY_MAX_ATTEMPTS;
* the app's token refused: the sender pauses for a minute instead of failing everyone;
* the process dies: on PostgreSQL each sender holds a session-level advisory lock named after
  its claims (`Liveness`) on a connection of its own, which the server releases when the
  process dies; a row claimed by a sender whose lock is gone is taken over at once by any other
  sender, at its next look (within IDLE_POLL_S). On SQLite (one process) the claim expires
  after CLAIM_TTL. A message the platform accepted just before the death, but whose row was not
  yet marked sent, is sent again: at most one duplicate per message in flight at that moment
  (at most TRUSTBOT_SEND_CONCURRENCY). It cannot be stronger: chat.postMessage has no
  idempotency key, so "sent" and "recorded" cannot be one step;
* a claimed row waited so long for its turn (a long pause after the platform refused the app)
  that its claim ran out: the sender renews the claim before sending, and leaves the row alone
  if another sender took it over meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, false, func, or_, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from trustbot.core.catalogue import Language
from trustbot.core.ports import DeliveryError, Notifier, Prompt, SentMessage
from trustbot.core.privacy import SealError
from trustbot.core.reports import (
    DEFAULT_WEEKS,
    TrustReport,
    current_trust_report,
)
from trustbot.core.rounds import rule_of
from trustbot.core.services import Services
from trustbot.db.errors import describe_database_error
from trustbot.db.models import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    PersonSetting,
    PulseAnswer,
    Round,
)
from trustbot.delivery.pacing import Pacer

logger = logging.getLogger(__name__)

CLAIM_TTL = timedelta(seconds=60)  # longer than any one send (the client times out at 15 s)
# A claim with less than this left is renewed before its row is sent: enough for one send.
CLAIM_RENEW_BEFORE = timedelta(seconds=20)
IDLE_POLL_S = 2.0  # how often an idle sender looks for due rows another process queued
DRAIN_POLL_S = 1.0  # `drain` asks whether anything waits when the sender idles, or this often
BACKOFF_BASE_S, BACKOFF_CAP_S = 2.0, 300.0
# The first key of every sender's liveness lock (the second is a hash of its owner name).
LIVENESS_NAMESPACE = 0x7462_7331  # "tbs1", 1952609073 (written out in _CLAIMER_GONE)
LIVENESS_CHECK_S = 1.0  # how often a sender makes sure its liveness connection is there
# A row whose claimer's liveness lock is gone (PostgreSQL): no session holds the lock keyed by
# a hash of its `claimed_by`. A hash shared by two owners only delays a takeover to CLAIM_TTL.
_CLAIMER_GONE = text(
    "NOT EXISTS (SELECT 1 FROM pg_locks AS l WHERE l.locktype = 'advisory' AND l.granted "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND l.classid = CAST(1952609073 AS oid) "  # LIVENESS_NAMESPACE
    "AND l.objid = CAST(hashtext(deliveries.claimed_by) AS oid) AND l.objsubid = 2)"
)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row this sender holds and is about to send."""

    id: int
    kind: DeliveryKind
    period: str
    round_id: int | None
    platform: str
    recipient: str
    seq: int
    address: str | None
    attempts: int
    claimed_until: datetime


@dataclass(slots=True)
class SenderStats:
    """What a sender did, for logs and `prompt --now`."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    skipped: int = 0
    last_errors: list[str] = field(default_factory=list)


def sender_owner() -> str:
    """This sender's name on its claims: host, process and a random part."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(3)}"


class OutboxSender:
    """Sends due outbox rows through the platform notifiers until stopped."""

    def __init__(
        self,
        services: Services,
        notifiers: Mapping[str, Notifier],
        *,
        pacer: Pacer | None = None,
        owner: str | None = None,
    ) -> None:
        settings = services.settings
        self._services = services
        self._notifiers = notifiers
        self._pacer = pacer or Pacer(rate=settings.send_rate, burst=settings.send_burst)
        self._concurrency = settings.send_concurrency
        self._max_attempts = settings.delivery_max_attempts
        self._owner = owner or sender_owner()
        self._wake = asyncio.Event()
        self._idling = asyncio.Event()  # set each time the run loop finds nothing due
        self._digests: dict[str, TrustReport] = {}
        self._engine: AsyncEngine = services.database.writer
        self._postgres = self._engine.dialect.name == "postgresql"
        self.stats = SenderStats()

    @property
    def owner(self) -> str:
        """The name this sender writes on its claims."""
        return self._owner

    def wake(self) -> None:
        """New rows were queued in this process: look now instead of at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Send due rows until `stop` is set; rows in flight then finish."""
        in_flight: set[asyncio.Task[None]] = set()
        held: set[int] = set()  # rows a task of this sender is working on
        slots = asyncio.Semaphore(self._concurrency)
        liveness = Liveness(self._engine, self._owner) if self._postgres else None
        if liveness is not None:
            await liveness.acquire()
        keeper = asyncio.create_task(liveness.keep(stop)) if liveness is not None else None
        try:
            while not stop.is_set():
                # Claim a little ahead, so the next sends do not wait for a claim round trip.
                free = 2 * self._concurrency - len(in_flight)
                batch = await self._claim(free) if free > 0 else []
                for item in batch:
                    if item.id in held:
                        # Its claim ran out while it waited here, and this sender took it again:
                        # the task that holds it goes on (the claim is only extended).
                        continue
                    held.add(item.id)
                    task = asyncio.create_task(self._send_in_slot(item, slots))
                    in_flight.add(task)
                    task.add_done_callback(
                        functools.partial(self._finished, in_flight, held, item.id)
                    )
                if batch:
                    continue
                if free <= 0:  # every slot busy: go on when one frees up
                    await asyncio.wait(set(in_flight), return_when=asyncio.FIRST_COMPLETED)
                    continue
                self._idling.set()
                await self._idle(stop)
        finally:
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)
            if keeper is not None:
                keeper.cancel()
                await asyncio.gather(keeper, return_exceptions=True)
            await self._release_claims()
            if liveness is not None:
                await liveness.release()

    async def _release_claims(self) -> None:
        """Give back any row still claimed by this sender (stopping), for others to send now."""
        try:
            async with self._services.transaction() as session:
                await session.execute(
                    update(Delivery)
                    .where(
                        Delivery.claimed_by == self._owner,
                        Delivery.status == DeliveryStatus.SENDING,
                    )
                    .values(status=DeliveryStatus.PENDING, claimed_by=None, claimed_until=None)
                )
        except SQLAlchemyError as error:  # they are taken over once this process is gone
            logger.error("could not give back claimed rows: %s", describe_database_error(error))

    def _finished(
        self, in_flight: set[asyncio.Task[None]], held: set[int], row: int, task: asyncio.Task[None]
    ) -> None:
        in_flight.discard(task)
        held.discard(row)
        if not in_flight:  # perhaps the last one: `drain` may look whether anything waits
            self._idling.set()

    async def _idle(self, stop: asyncio.Event) -> None:
        """Nothing due: wait for a wake-up, a stop, the next poll, or the moment the next row
        falls due (a retry, or a claim running out), whichever comes first."""
        timeout = IDLE_POLL_S
        soonest = await self._next_due()
        if soonest is not None:
            timeout = min(timeout, max((soonest - self._services.now()).total_seconds(), 0.0))
        waiters = {asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())}
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        self._wake.clear()

    async def drain(self, *, period: str | None = None) -> SenderStats:
        """Send until nothing is waiting (for `period`, if given); what this drain did."""
        self.stats = SenderStats()
        stop = asyncio.Event()
        runner = asyncio.create_task(self.run(stop))
        try:
            # While the sender is busy, something is waiting by definition: ask the database
            # only when it finds nothing due (or now and then), not on every turn.
            while not runner.done():
                if not await self.waiting(period=period):
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._idling.wait(), DRAIN_POLL_S)
                self._idling.clear()
        finally:
            stop.set()
            self.wake()
            await runner
        return self.stats

    async def _next_due(self) -> datetime | None:
        """When the next row falls due: the earliest retry, or the earliest claim to run out."""
        try:
            async with self._services.sessions() as session:
                retry = await session.scalar(
                    select(func.min(Delivery.next_attempt_at)).where(
                        Delivery.status == DeliveryStatus.PENDING
                    )
                )
                expiry = await session.scalar(
                    select(func.min(Delivery.claimed_until)).where(
                        Delivery.status == DeliveryStatus.SENDING
                    )
                )
        except SQLAlchemyError:
            return None  # the next claim says what is wrong
        moments = [moment for moment in (retry, expiry) if moment is not None]
        return min(moments) if moments else None

    async def waiting(self, *, period: str | None = None) -> bool:
        """Whether any row is still to be sent or retried (of `period`, if given)."""
        query = select(Delivery.id).where(
            Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING])
        )
        if period is not None:
            query = query.where(Delivery.period == period)
        async with self._services.sessions() as session:
            return await session.scalar(query.limit(1)) is not None

    async def _claim(self, limit: int) -> list[Claimed]:
        now = self._services.now()
        due = (
            select(Delivery.id)
            .where(
                or_(
                    and_(
                        Delivery.status == DeliveryStatus.PENDING,
                        Delivery.next_attempt_at <= now,
                    ),
                    and_(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_until < now),
                    self._claimer_gone(),
                )
            )
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        until = now + CLAIM_TTL
        claim = (
            update(Delivery)
            .where(Delivery.id.in_(due.scalar_subquery()))
            .values(
                status=DeliveryStatus.SENDING,
                claimed_by=self._owner,
                claimed_until=until,
            )
            .returning(
                Delivery.id,
                Delivery.kind,
                Delivery.period,
                Delivery.round_id,
                Delivery.platform,
                Delivery.recipient,
                Delivery.seq,
                Delivery.address,
                Delivery.attempts,
            )
        )
        try:
            async with self._services.transaction() as session:
                rows = (await session.execute(claim)).all()
        except SQLAlchemyError as error:
            logger.error("could not claim outbox rows: %s", describe_database_error(error))
            await asyncio.sleep(IDLE_POLL_S)
            return []
        return [Claimed(**row._mapping, claimed_until=until) for row in rows]

    def _claimer_gone(self) -> ColumnElement[bool]:
        """Rows claimed by a sender that is no more (PostgreSQL: its liveness lock is gone)."""
        if not self._postgres:
            return false()
        return and_(
            Delivery.status == DeliveryStatus.SENDING,
            Delivery.claimed_by != self._owner,
            _CLAIMER_GONE,
        )

    async def _send_in_slot(self, item: Claimed, slots: asyncio.Semaphore) -> None:
        """At most TRUSTBOT_SEND_CONCURRENCY in flight, each started when the pacer allows."""
        async with slots:
            await self._pacer.acquire(channel=f"{item.platform}:{item.recipient}")
            try:
                if not await self._still_ours(item):
                    return
            except SQLAlchemyError as error:
                logger.error("could not renew a claim: %s", describe_database_error(error))
                return
            await self._send(item)

    async def _still_ours(self, item: Claimed) -> bool:
        """Whether this sender may send the row now: its claim has time left, or is renewed.

        A row another sender took over (its claim ran out while it waited here) is not ours
        any more, and is left to that sender.
        """
        now = self._services.now()
        if item.claimed_until - now > CLAIM_RENEW_BEFORE:
            return True
        async with self._services.transaction() as session:
            renewed = await session.scalar(
                update(Delivery)
                .where(
                    Delivery.id == item.id,
                    Delivery.claimed_by == self._owner,
                    Delivery.status == DeliveryStatus.SENDING,
                )
                .values(claimed_until=now + CLAIM_TTL)
                .returning(Delivery.id)
            )
        return renewed is not None

    async def _send(self, item: Claimed) -> None:
        try:
            await self._deliver(item)
        except SQLAlchemyError as error:
            # The claim expires and the row is taken up again.
            logger.error("could not record a delivery: %s", describe_database_error(error))

    async def _deliver(self, item: Claimed) -> None:
        notifier = self._notifiers.get(item.platform)
        if notifier is None or item.address is None:
            await self._finish(
                item, DeliveryStatus.FAILED, "no address" if notifier else "no platform"
            )
            return
        try:
            address = self._services.keys.seal.open(item.address)
        except SealError:
            await self._finish(item, DeliveryStatus.FAILED, "address sealed under another key")
            return
        try:
            if item.kind is DeliveryKind.DIGEST:
                report = await self._digest(item.period)
                sent = await notifier.send_digest(address, report)
            else:
                prompt = await self._prompt_to_send(item, address)
                if prompt is None:
                    return
                sent = await notifier.send_prompt(
                    address, prompt, reminder=item.kind is DeliveryKind.REMINDER
                )
        except DeliveryError as error:
            await self._refused(item, error)
            return
        except (SQLAlchemyError, asyncio.CancelledError):
            raise
        except Exception as error:  # a bug, not the platform: count it as an attempt
            where = _where(error)
            logger.error("could not send a %s: %s at %s", item.kind.value, _name(error), where)
            await self._refused(item, DeliveryError(f"internal error: {_name(error)}"))
            return
        self._pacer.succeeded()
        await self._sent(item, sent)

    async def _prompt_to_send(self, item: Claimed, user_id: str) -> Prompt | None:
        """The prompt to send, or None (row skipped) if it should not go out any more.

        One query reads the round and its rule, the person's own settings (paused, language)
        and, for a reminder, whether they answered meanwhile: by their answer handle, computed
        here from the opened address, since no stored value joins an answer to a delivery.
        """
        services = self._services
        subject = services.keys.settings_subject(user_id, item.platform)
        answer = (
            services.keys.answer_handle(
                services.keys.pseudonym(user_id, item.platform), item.round_id
            )
            if item.round_id is not None
            else ""
        )
        query = (
            select(Round, PersonSetting.paused, PersonSetting.language, PulseAnswer.score)
            .select_from(Round)
            .outerjoin(PersonSetting, PersonSetting.subject == subject)
            .outerjoin(
                PulseAnswer,
                and_(PulseAnswer.round_id == Round.id, PulseAnswer.respondent == answer),
            )
            .where(Round.id == item.round_id)
        )
        async with services.sessions() as session:
            row = (await session.execute(query)).first()
        if row is None:
            reason = "round closed"
        else:
            round_, paused, language, score = row
            if round_.closed_at is not None or round_.period < services.current_period():
                reason = "round closed"
            elif paused:
                reason = "paused"
            elif item.kind is DeliveryKind.REMINDER and score is not None:
                # Answered meanwhile: the row goes, so that no stored reminder says who answered.
                await self._withdraw(item)
                return None
            else:
                chosen: Language = language if language in ("da", "en") else services.language
                return Prompt(round_.id, round_.period, rule_of(round_.rule), chosen)
        await self._finish(item, DeliveryStatus.SKIPPED, reason)
        return None

    async def _withdraw(self, item: Claimed) -> None:
        """Delete a reminder not to be sent (unless another sender took it over meanwhile)."""
        async with self._services.transaction() as session:
            await session.execute(
                delete(Delivery).where(Delivery.id == item.id, Delivery.claimed_by == self._owner)
            )
        self.stats.skipped += 1

    async def _digest(self, period: str) -> TrustReport:
        report = self._digests.get(period)
        if report is None:
            # The same report as every other surface: one threshold for every reader.
            report = await current_trust_report(self._services, DEFAULT_WEEKS)
            self._digests = {period: report}
        return report

    async def _sent(self, item: Claimed, sent: SentMessage) -> None:
        services = self._services
        values: dict[str, object] = {
            "status": DeliveryStatus.SENT,
            # The day is enough for any report; an exact time would hint at a person's time zone.
            "sent_at": services.now().replace(hour=0, minute=0, second=0, microsecond=0),
            "next_attempt_at": None,
            "claimed_by": None,
            "claimed_until": None,
            "last_error": None,
            "attempts": item.attempts + 1,
        }
        if item.kind is not DeliveryKind.DIGEST:
            values["message_key"] = services.keys.message_key(
                item.platform, sent.channel_id, sent.message_ts
            )
            values["message_ref"] = services.keys.seal.seal(f"{sent.channel_id} {sent.message_ts}")
        await self._update(item, values)
        self.stats.sent += 1
        services.metrics.sent(item.platform, item.kind.value)

    async def _refused(self, item: Claimed, error: DeliveryError) -> None:
        now = self._services.now()
        if error.retry_after is not None:
            if error.pause_all:
                logger.error("the platform refused the app (%s): sending paused", error.reason)
            else:
                self._services.metrics.rate_limited.labels(item.platform).inc()
            self._pacer.slow_down(error.retry_after if error.pause_all else None)
            await self._update(
                item,
                {
                    "status": DeliveryStatus.PENDING,
                    "next_attempt_at": now + timedelta(seconds=error.retry_after),
                    "claimed_by": None,
                    "claimed_until": None,
                    "last_error": error.reason[:200],
                },
            )
            self.stats.retried += 1
            self._wake.set()  # an idle run loop looks again when the retry falls due
            return
        attempts = item.attempts + 1
        if error.permanent or attempts >= self._max_attempts:
            await self._finish(item, DeliveryStatus.FAILED, error.reason, attempts=attempts)
            return
        backoff = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempts - 1))
        await self._update(
            item,
            {
                "status": DeliveryStatus.PENDING,
                "attempts": attempts,
                "next_attempt_at": now + timedelta(seconds=backoff * random.uniform(0.5, 1.0)),  # noqa: S311
                "claimed_by": None,
                "claimed_until": None,
                "last_error": error.reason[:200],
            },
        )
        self.stats.retried += 1
        self._wake.set()

    async def _finish(
        self, item: Claimed, status: DeliveryStatus, reason: str, *, attempts: int | None = None
    ) -> None:
        values: dict[str, object] = {
            "status": status,
            "last_error": reason[:200],
            "next_attempt_at": None,
            "claimed_by": None,
            "claimed_until": None,
        }
        if attempts is not None:
            values["attempts"] = attempts
        await self._update(item, values)
        if status is DeliveryStatus.FAILED:
            self.stats.failed += 1
            self._services.metrics.failed(item.platform, item.kind.value, reason)
            self.stats.last_errors = [*self.stats.last_errors[-4:], reason]
            logger.warning("a %s was not delivered: %s", item.kind.value, reason)
        else:
            self.stats.skipped += 1

    async def _update(self, item: Claimed, values: dict[str, object]) -> None:
        """Write a result, unless another sender took the row over meanwhile."""
        async with self._services.transaction() as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.id == item.id, Delivery.claimed_by == self._owner)
                .values(**values)
            )


class Liveness:
    """A sender's proof of life on PostgreSQL: a session-level advisory lock keyed by its owner
    name, held on a connection of its own (outside the pool) for as long as the sender runs.

    When the process dies, the server closes the session and the lock is gone: the rows it had
    claimed are taken over by the other senders at once, instead of when their claims expire.
    Should the connection drop while the process lives, `keep` takes the lock again; rows taken
    over meanwhile are left to their new sender (each result is written only by the claimer).
    """

    def __init__(self, engine: AsyncEngine, owner: str) -> None:
        self._engine = create_async_engine(engine.url, poolclass=NullPool, hide_parameters=True)
        self._owner = owner
        self._connection: AsyncConnection | None = None

    async def acquire(self) -> None:
        """Open the connection and take the lock."""
        connection = await self._engine.connect()
        try:
            await connection.execute(
                text("SELECT pg_advisory_lock(:namespace, hashtext(:owner))"),
                {"namespace": LIVENESS_NAMESPACE, "owner": self._owner},
            )
            await connection.commit()
        except BaseException:
            await connection.close()
            raise
        self._connection = connection

    async def keep(self, stop: asyncio.Event) -> None:
        """Check the connection every LIVENESS_CHECK_S, and take the lock again if it dropped."""
        while not stop.is_set():
            await asyncio.sleep(LIVENESS_CHECK_S)
            try:
                if self._connection is None:
                    await self.acquire()
                    logger.info("the sender's liveness lock is held again")
                    continue
                await self._connection.execute(text("SELECT 1"))
                await self._connection.commit()
            except (SQLAlchemyError, OSError) as error:
                logger.error(
                    "the sender's liveness connection dropped: %s",
                    describe_database_error(error) if isinstance(error, SQLAlchemyError) else error,
                )
                await self._drop()

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(SQLAlchemyError, OSError):
                await connection.close()

    async def release(self) -> None:
        """Close the connection (the server releases the lock with it)."""
        await self._drop()
        await self._engine.dispose()


def _name(error: BaseException) -> str:
    return type(error).__name__


def _where(error: BaseException) -> str:
    """Where an exception was raised (file and line), without its message, which may hold
    what a person wrote."""
    frame = error.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    if frame is None:
        return "?"
    return f"{frame.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.tb_lineno}"
