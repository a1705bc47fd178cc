"""The scheduler a `serve` process runs: APScheduler is the clock, the database the memory.

Jobs are rebuilt from the settings at every start. After downtime each job's latest scheduled
run is looked up in `job_runs`: if it did not happen and was missed by less than
TRUSTBOT_MISFIRE_GRACE it runs now, once; an older miss is skipped and logged (a run from before
the database existed was not missed, and is not mentioned; one within the grace still runs).

A job that fails is tried again, with a growing pause, for as long as its fire time is within
TRUSTBOT_MISFIRE_GRACE: each platform's part of a job is recorded on its own (jobs.py), so a try
again redoes only the platforms that failed. A job that failed at every try turns `/readyz` red
through the supervisor until it next succeeds; the catch-up runs under the supervisor, so a
database error there starts it again instead of ending it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from trustbot.core.periods import period_of
from trustbot.core.privacy import KEY_FINGERPRINT
from trustbot.core.services import Services
from trustbot.db.errors import describe_database_error
from trustbot.db.models import InstallationSetting, JobRun
from trustbot.scheduler.cron import last_fire_time
from trustbot.scheduler.jobs import Jobs, JobSpec, fire_period, job_specs
from trustbot.supervision import Supervisor, wait_or_stop

logger = logging.getLogger(__name__)
LOOKBACK = timedelta(days=8)  # far enough back to find the latest run of a weekly job
JOB_RETRY_S, JOB_RETRY_CAP_S = 30.0, 600.0  # a failed job's pauses between tries
CATCH_UP = "the scheduler's catch-up"


class Scheduler:
    """Fires the jobs while this process leads; catches up what downtime missed."""

    def __init__(
        self,
        services: Services,
        jobs: Jobs,
        *,
        supervisor: Supervisor | None = None,
        job_retry_s: float = JOB_RETRY_S,
    ) -> None:
        self._services = services
        self._jobs = jobs
        self._specs = job_specs(services)
        self._supervisor = supervisor or Supervisor()
        self._job_retry_s = job_retry_s
        self._apscheduler: AsyncIOScheduler | None = None
        self._catch_up: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @property
    def specs(self) -> list[JobSpec]:
        """The jobs this scheduler runs."""
        return self._specs

    async def start(self) -> None:
        """Start the clock and catch up missed runs (called when this process is elected)."""
        settings = self._services.settings
        scheduler = AsyncIOScheduler(timezone=settings.zone)
        grace = int(settings.misfire_grace.total_seconds())
        for spec in self._specs:
            scheduler.add_job(
                self._fire,
                trigger=spec.trigger,
                args=[spec],
                id=spec.name,
                name=spec.name,
                misfire_grace_time=grace,
                coalesce=True,
                max_instances=1,
            )
        scheduler.start()
        self._apscheduler = scheduler
        self._services.metrics.leading(True)
        self._stopping = asyncio.Event()
        self._catch_up = self._supervisor.spawn(CATCH_UP, self.catch_up, self._stopping)

    async def stop(self) -> None:
        """Stop the clock (when this process stops leading, or shuts down)."""
        self._stopping.set()
        if self._catch_up is not None:
            self._catch_up.cancel()
            await asyncio.gather(self._catch_up, return_exceptions=True)
            self._catch_up = None
        if self._apscheduler is not None:
            self._apscheduler.shutdown(wait=False)
            self._apscheduler = None
        self._services.metrics.leading(False)

    def next_runs(self) -> dict[str, datetime | None]:
        """When each job fires next (for `trustbot status`)."""
        now = self._services.now()
        return {spec.name: spec.trigger.get_next_fire_time(None, now) for spec in self._specs}

    async def fire(self, name: str) -> None:
        """Run job `name` for its latest scheduled time, as the clock does when it fires."""
        specs = {spec.name: spec for spec in self._specs}
        if name not in specs:
            raise KeyError(f"no {name} job in this configuration (jobs: {', '.join(specs)})")
        await self._fire(specs[name])

    async def _fire(self, spec: JobSpec) -> None:
        now = self._services.now()
        fire = last_fire_time(spec.trigger, now, self._services.settings.misfire_grace) or now
        await self._run(spec, fire)

    async def _run(self, spec: JobSpec, fire: datetime) -> bool:
        """Run the job, trying again while its fire time is within TRUSTBOT_MISFIRE_GRACE;
        whether it succeeded."""
        name = f"the {spec.name} job"
        grace = self._services.settings.misfire_grace
        metrics = self._services.metrics
        while True:
            metrics.job_runs.labels(spec.name).inc()
            try:
                await self._jobs.run(spec.name, fire)
            except Exception as error:
                metrics.job_failures.labels(spec.name).inc()
                failures = self._supervisor.failed(name, error)
                if isinstance(error, SQLAlchemyError):
                    logger.error("%s failed: %s", name, describe_database_error(error))
                else:
                    logger.exception("%s failed", name)
                delay = min(JOB_RETRY_CAP_S, self._job_retry_s * 2 ** (failures - 1))
                if self._services.now() + timedelta(seconds=delay) - fire > grace:
                    self._supervisor.failed(name, error, unhealthy=True)
                    logger.error(
                        "%s failed at every try within TRUSTBOT_MISFIRE_GRACE; it runs again at "
                        "its next scheduled time",
                        name,
                    )
                    return False
                logger.info("%s runs again in %.0f s", name, delay)
                if await wait_or_stop(self._stopping, delay):
                    return False
                continue
            self._supervisor.recovered(name)
            return True

    async def catch_up(self, now: datetime | None = None) -> list[str]:
        """Run, once, each job whose latest run was missed by less than the grace; log older
        misses. The names of the jobs run."""
        services = self._services
        now = now or services.now()
        grace = services.settings.misfire_grace
        ran: list[str] = []
        await self._run(next(spec for spec in self._specs if spec.name == "close"), now)
        installed = await self._installed_at()
        for spec in self._specs:
            if spec.name == "close":
                continue
            fire = last_fire_time(spec.trigger, now, LOOKBACK)
            if fire is None or await self._ran_since(spec, fire):
                continue
            if now - fire > grace:
                if installed is not None and fire < installed:
                    continue  # before the database existed: not missed, nothing to say

                logger.warning(
                    "skipped the %s run of %s: missed by %s, more than TRUSTBOT_MISFIRE_GRACE",
                    spec.name,
                    fire.isoformat(timespec="minutes"),
                    str(now - fire).split(".")[0],
                )
                continue
            logger.info(
                "catching up the %s run of %s", spec.name, fire.isoformat(timespec="minutes")
            )
            if await self._run(spec, fire):
                ran.append(spec.name)
        logger.info("catch-up done: %s", ", ".join(ran) if ran else "nothing was missed")
        if "prompt" not in ran:
            self._log_next_prompt(now)
        return ran

    def _log_next_prompt(self, now: datetime) -> None:
        """Say when people are asked next, and how to ask them now (on a first start, the
        first thing an operator wants to know)."""
        spec = next((spec for spec in self._specs if spec.name == "prompt"), None)
        fire = spec.trigger.get_next_fire_time(None, now) if spec is not None else None
        if fire is not None:
            logger.info(
                "next prompt at %s; to start now: trustbot prompt --now",
                fire.astimezone(self._services.settings.zone).strftime("%a %Y-%m-%d %H:%M %Z"),
            )

    async def _installed_at(self) -> datetime | None:
        """When this database was first used (its pseudonym key was recorded), if known."""
        async with self._services.sessions() as session:
            row = await session.get(InstallationSetting, KEY_FINGERPRINT)
        return row.created_at if row is not None else None

    async def _ran_since(self, spec: JobSpec, fire: datetime) -> bool:
        """Whether the job ran for that fire: the prompt and the digest once per period (on
        every platform), a reminder at or after the fire time."""
        if spec.name in ("prompt", "digest"):
            period = (
                fire_period(fire)
                if spec.name == "prompt"
                else period_of(fire, self._services.settings.zone)
            )
            names = self._jobs.run_names(spec.name)
            keys = {f"{period}:{platform}" for platform in self._jobs.platforms} | {period}
            query = (
                select(func.count())
                .select_from(JobRun)
                .where(JobRun.name.in_(names), JobRun.key.in_(keys))
            )
            async with self._services.sessions() as session:
                return int(await session.scalar(query) or 0) >= len(names)
        query = (
            select(func.count())
            .select_from(JobRun)
            .where(JobRun.name == spec.name, JobRun.ran_at >= fire - timedelta(minutes=1))
        )
        async with self._services.sessions() as session:
            return bool(await session.scalar(query))
