"""The scheduler a `serve` process runs: APScheduler is the clock, the database the memory.

Jobs are rebuilt from the settings at every start. After downtime each job's latest scheduled
run is looked up in `job_runs`: if it did not happen and was missed by less than
TRUSTBOT_MISFIRE_GRACE it runs now, once; an older miss is skipped and logged.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from trustbot.core.periods import period_of
from trustbot.core.services import Services
from trustbot.db.errors import describe_database_error
from trustbot.db.models import JobRun
from trustbot.scheduler.cron import last_fire_time
from trustbot.scheduler.jobs import Jobs, JobSpec, fire_period, job_specs

logger = logging.getLogger(__name__)
LOOKBACK = timedelta(days=8)  # far enough back to find the latest run of a weekly job


class Scheduler:
    """Fires the jobs while this process leads; catches up what downtime missed."""

    def __init__(self, services: Services, jobs: Jobs) -> None:
        self._services = services
        self._jobs = jobs
        self._specs = job_specs(services)
        self._apscheduler: AsyncIOScheduler | None = None
        self._catch_up: asyncio.Task[list[str]] | None = None

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
        self._catch_up = asyncio.create_task(self.catch_up())

    async def stop(self) -> None:
        """Stop the clock (when this process stops leading, or shuts down)."""
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

    async def _run(self, spec: JobSpec, fire: datetime) -> None:
        metrics = self._services.metrics
        metrics.job_runs.labels(spec.name).inc()
        try:
            await self._jobs.run(spec.name, fire)
        except SQLAlchemyError as error:
            metrics.job_failures.labels(spec.name).inc()
            logger.error("the %s job failed: %s", spec.name, describe_database_error(error))
        except Exception:
            metrics.job_failures.labels(spec.name).inc()
            logger.exception("the %s job failed", spec.name)

    async def catch_up(self, now: datetime | None = None) -> list[str]:
        """Run, once, each job whose latest run was missed by less than the grace; log older
        misses. The names of the jobs run."""
        services = self._services
        now = now or services.now()
        grace = services.settings.misfire_grace
        ran: list[str] = []
        await self._run(next(spec for spec in self._specs if spec.name == "close"), now)
        for spec in self._specs:
            if spec.name == "close":
                continue
            fire = last_fire_time(spec.trigger, now, LOOKBACK)
            if fire is None or await self._ran_since(spec, fire):
                continue
            if now - fire > grace:
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
            await self._run(spec, fire)
            ran.append(spec.name)
        logger.info("catch-up done: %s", ", ".join(ran) if ran else "nothing was missed")
        return ran

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
