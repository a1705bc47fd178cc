"""The weekly jobs: open the round and queue its prompts, remind, queue the digest, close.

Each job is keyed by the period its fire time falls in and records itself in `job_runs` in the
transaction that queues its messages (see delivery/outbox.py), so running it twice (two
processes, a catch-up after downtime, an operator) takes effect once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, select

from trustbot.config import Settings
from trustbot.core.aggregates import RAW_TABLES, finalize_closed_rounds, purge_old_answers
from trustbot.core.periods import period_of
from trustbot.core.ports import Notifier, Person
from trustbot.core.rounds import close_ended_rounds
from trustbot.core.services import Services
from trustbot.db.models import Delivery, DeliveryKind
from trustbot.db.scrub import scrub
from trustbot.delivery.outbox import (
    Enqueued,
    Recipient,
    enqueue_digests,
    enqueue_prompts,
    enqueue_reminders,
    skip_closed_rounds,
)
from trustbot.delivery.sender import OutboxSender
from trustbot.scheduler.cron import cron_trigger

logger = logging.getLogger(__name__)

# With TRUSTBOT_DELIVERY_TIME=local the prompt job fires when the schedule's time is first
# reached anywhere on Earth (UTC+14), so that everyone can get it at that time in their own zone.
EARLIEST_ZONE = ZoneInfo("Etc/GMT-14")
CLOSE_SCHEDULE = "0 0 * * MON"  # a period (ISO week) ends at midnight between Sunday and Monday
CHUNK = 200  # people worked out between two yields to the event loop


_OUTSIDE = ("aiohttp", "httpx", "slack_sdk", "sqlalchemy", "microsoft_teams")


def _log_failure(job: str, platform: str, period: str, error: Exception) -> None:
    """One line for what fails outside trustbot (a platform or the database unreachable or
    refusing: the operator's to fix, and the traceback says nothing more); the traceback for
    anything else, which is a bug."""
    outside = isinstance(error, OSError) or type(error).__module__.startswith(_OUTSIDE)
    logger.error(
        "the %s %s run for %s failed: %s",
        platform,
        job,
        period,
        type(error).__name__,
        exc_info=not outside,
    )


class PlatformsFailedError(Exception):
    """A job's part failed on some platforms (the others' parts are done and recorded)."""

    def __init__(self, job: str, failures: Mapping[str, BaseException]) -> None:
        described = ", ".join(f"{p}: {type(e).__name__}" for p, e in failures.items())
        super().__init__(f"the {job} job failed on {described}")
        self.failures = dict(failures)


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One scheduled job: its name, trigger and what it does."""

    name: str
    expression: str
    trigger: CronTrigger


def job_specs(services: Services) -> list[JobSpec]:
    """The jobs the settings ask for, with triggers in the right zones."""
    return job_specs_for(services.settings)


def job_specs_for(settings: Settings) -> list[JobSpec]:
    """The jobs these settings ask for, with triggers in the right zones."""
    zone = settings.zone
    prompt_zone = EARLIEST_ZONE if settings.delivery_time == "local" else zone
    specs = [
        JobSpec(
            "prompt", settings.prompt_schedule, cron_trigger(settings.prompt_schedule, prompt_zone)
        ),
        JobSpec("close", CLOSE_SCHEDULE, cron_trigger(CLOSE_SCHEDULE, zone)),
    ]
    if settings.max_reminders > 0:
        specs.append(
            JobSpec(
                "reminder",
                settings.reminder_schedule,
                cron_trigger(settings.reminder_schedule, zone),
            )
        )
    if settings.leadership_channels or settings.teams_leadership_conversations:
        specs.append(
            JobSpec(
                "digest", settings.digest_schedule, cron_trigger(settings.digest_schedule, zone)
            )
        )
    return specs


async def _reminders_by_platform(
    services: Services, period: str, number: int
) -> list[tuple[str, int]]:
    """How many of reminder `number` of `period` each platform has in the outbox."""
    query = (
        select(Delivery.platform, func.count())
        .where(
            Delivery.period == period,
            Delivery.kind == DeliveryKind.REMINDER,
            Delivery.seq == number,
        )
        .group_by(Delivery.platform)
    )
    async with services.sessions() as session:
        return [(str(platform), int(count)) for platform, count in await session.execute(query)]


def fire_period(fire_time: datetime) -> str:
    """The period a fire time belongs to: its own date, in the zone it fired in."""
    year, week, _ = fire_time.date().isocalendar()
    return f"{year}-W{week:02d}"


class Jobs:
    """What the scheduled jobs do; the same code serves `prompt --now`."""

    def __init__(
        self, services: Services, notifiers: Mapping[str, Notifier], sender: OutboxSender
    ) -> None:
        self._services = services
        self._notifiers = notifiers
        self._sender = sender

    @property
    def platforms(self) -> list[str]:
        """The platforms this process sends through."""
        return list(self._notifiers)

    def run_names(self, job: str) -> list[str]:
        """The job_runs names a job records: the prompt one per platform (keyed period:platform),
        the digest one per platform with leadership targets (keyed by period)."""
        if job == "digest":
            return [f"digest:{p}" for p, n in self._notifiers.items() if n.digest_targets]
        return ["prompt"] * len(self._notifiers) if job == "prompt" else [job]

    async def run(self, name: str, fire_time: datetime) -> None:
        """Run job `name` for the fire time it was scheduled at."""
        if name == "prompt":
            await self.prompt(fire_time)
        elif name == "reminder":
            await self.remind(fire_time)
        elif name == "digest":
            await self.digest(fire_time)
        elif name == "close":
            await self.close()

    async def prompt(
        self, fire_time: datetime | None = None, *, now: bool = False
    ) -> list[Enqueued]:
        """Open the round of the fire time's period and queue its prompts.

        Scheduled (`fire_time`), it takes effect once per period. `now` (an operator's
        `prompt --now`) sends to everyone due at once and retries failed rows.
        """
        services = self._services
        moment = services.now()
        period = fire_period(fire_time) if fire_time is not None else services.current_period()
        results: list[Enqueued] = []
        failures: dict[str, BaseException] = {}
        for platform, notifier in self._notifiers.items():
            # Each platform on its own: one platform's directory failing must not keep the
            # other's people from their prompt (its run is recorded per platform, so a try
            # again redoes only the one that failed).
            try:
                enqueued = await self._prompt_platform(
                    platform, notifier, period, fire_time, moment, now
                )
            except asyncio.CancelledError:
                raise
            except Exception as error:
                _log_failure("prompt", platform, period, error)
                failures[platform] = error
                continue
            if enqueued is None:
                logger.info("the %s prompt run for %s happened already", platform, period)
                continue
            results.append(enqueued)
            services.metrics.enqueued(platform, "prompt", enqueued.queued)
            # No count of prompts queued or of people who paused: audience minus prompts
            # would say how many paused, and reminders how many had not answered yet.
            logger.info(
                "round %s (rule %d): %s prompts queued", period, enqueued.rule_position, platform
            )
        self._sender.wake()
        if failures:
            raise PlatformsFailedError("prompt", failures)
        return results

    async def _prompt_platform(
        self,
        platform: str,
        notifier: Notifier,
        period: str,
        fire_time: datetime | None,
        moment: datetime,
        now: bool,
    ) -> Enqueued | None:
        people = await notifier.resolve_audience()
        team_of = await notifier.resolve_teams()
        due_at = DueTimes(self._services.settings, fire_time, moment, now=now)
        recipients: list[Recipient] = []
        for start in range(0, len(people), CHUNK):
            recipients.extend(
                Recipient(platform, person.user_id, due_at(person), team_of.get(person.user_id))
                for person in people[start : start + CHUNK]
            )
            await asyncio.sleep(0)  # let clicks in between chunks of a large audience
        return await enqueue_prompts(
            self._services,
            period=period,
            recipients=recipients,
            job_key=None if fire_time is None else f"{period}:{platform}",
            retry_failed=now,
        )

    async def remind(self, fire_time: datetime) -> None:
        """Queue the next reminder of the open round, to those who have not answered."""
        period = period_of(fire_time, self._services.settings.zone)
        queued = await enqueue_reminders(
            self._services, period=period, max_reminders=self._services.settings.max_reminders
        )
        if queued is None:
            logger.info("no reminder for %s: no open round, or every reminder was sent", period)
            return
        number, count = queued  # how many: those who had not answered yet, never logged
        if count:  # counted per platform, published in steps of k (trustbot/metrics.py)
            for platform, each in await _reminders_by_platform(self._services, period, number):
                self._services.metrics.enqueued(platform, "reminder", each)
        logger.info("reminder %d for %s queued", number, period)
        self._sender.wake()

    async def digest(self, fire_time: datetime) -> None:
        """Queue the period's digest to each leadership channel, on every platform (each on
        its own, as the prompt's)."""
        period = period_of(fire_time, self._services.settings.zone)
        failures: dict[str, BaseException] = {}
        for platform, notifier in self._notifiers.items():
            if not notifier.digest_targets:
                continue
            try:
                count = await enqueue_digests(
                    self._services,
                    period=period,
                    platform=platform,
                    channels=notifier.digest_targets,
                )
            except asyncio.CancelledError:
                raise
            except Exception as error:
                _log_failure("digest", platform, period, error)
                failures[platform] = error
                continue
            if count is None:
                logger.info("the %s digest for %s was queued already", platform, period)
                continue
            logger.info("%s digest for %s: %d conversations queued", platform, period, count)
            self._services.metrics.enqueued(platform, "digest", count)
        self._sender.wake()
        if failures:
            raise PlatformsFailedError("digest", failures)

    async def close(self) -> list[int]:
        """Close every round whose period has ended: skip its unsent prompts, write its
        aggregates, and purge raw answers older than TRUSTBOT_RETENTION_WEEKS."""
        services = self._services
        async with services.transaction() as session:
            closed = await close_ended_rounds(
                session=session, current_period=services.current_period(), now=services.now()
            )
            await skip_closed_rounds(session=session, round_ids=closed)
            finalized = await finalize_closed_rounds(session=session)
            purged = await purge_old_answers(
                session=session, now=services.now(), weeks=services.settings.retention_weeks
            )
        if finalized or purged:
            # Deleted and rewritten rows leave no copy behind (db/scrub.py).
            await scrub(services.database.writer, RAW_TABLES)
        if closed or finalized or purged:
            # Counts of rounds only: a number of messages skipped or answers purged would be a
            # round's participation, exact, where reports show a band.
            logger.info(
                "closed %d rounds (unsent messages skipped), aggregated %d%s",
                len(closed),
                len(finalized),
                ", purged raw answers past TRUSTBOT_RETENTION_WEEKS" if purged else "",
            )
        return closed


class DueTimes:
    """When each person's prompt is due: at once, or at the scheduled time in their own zone.

    With TRUSTBOT_DELIVERY_TIME=local the due time depends only on the person's zone, so it is
    worked out once per distinct zone (a trigger and a ZoneInfo per person cost about 0.2 ms,
    two seconds of a blocked event loop for 10,000 people).
    """

    def __init__(
        self, settings: Settings, fire_time: datetime | None, moment: datetime, *, now: bool
    ) -> None:
        self._settings = settings
        self._fire_time = fire_time
        self._moment = moment
        self._at_once = now or fire_time is None or settings.delivery_time != "local"
        self._by_zone: dict[str | None, datetime] = {}

    def __call__(self, person: Person) -> datetime:
        """The person's due time."""
        if self._at_once:
            return self._moment
        due = self._by_zone.get(person.tz)
        if due is None:
            due = self._by_zone[person.tz] = self._due_in(person.tz)
        return due

    def _due_in(self, tz: str | None) -> datetime:
        assert self._fire_time is not None
        try:
            zone = ZoneInfo(tz) if tz else self._settings.zone
        except (ZoneInfoNotFoundError, ValueError):
            zone = self._settings.zone
        local = cron_trigger(self._settings.prompt_schedule, zone)
        due = local.get_next_fire_time(None, self._fire_time - timedelta(seconds=1))
        return max(self._moment, due) if due is not None else self._moment
