"""Nothing in the background dies silently: each long-lived task (the outbox sender, the leader
loop, the scheduler's jobs, the catch-up, the digest) is given a failure, and either recovers
or turns `/readyz` red with the reason."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import make_settings
from tests.unit.scheduler.conftest import RecordingNotifier, Rhythm, RhythmFactory, wait_until
from trustbot.app import LEADER_TASK, SENDER_TASK, Runtime, open_runtime
from trustbot.core.ports import Person
from trustbot.db.models import Delivery, DeliveryKind, JobRun
from trustbot.scheduler import jobs as jobs_module
from trustbot.scheduler.jobs import Jobs, PlatformsFailedError
from trustbot.scheduler.service import CATCH_UP, Scheduler
from trustbot.supervision import Supervisor
from trustbot.web import create_web_app

PEOPLE = [Person(f"U0S{n}") for n in range(3)]
MONDAY_0900 = datetime(2026, 11, 23, 8, tzinfo=UTC)  # 09:00 in Copenhagen, 2026-W48
FRIDAY_0800 = datetime(2026, 11, 27, 7, tzinfo=UTC)
LEADERSHIP = {"TRUSTBOT_LEADERSHIP_CHANNELS": "C0LEAD", "digest_targets": ["C0LEAD"]}


def fast_supervisor() -> Supervisor:
    return Supervisor(backoff_base_s=0.01, backoff_cap_s=0.05, unhealthy_after=3)


def failing_once(real: Callable[..., Awaitable[Any]], error: Exception) -> Callable[..., Any]:
    """`real`, except that its first call raises `error`."""
    calls = 0

    async def once(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise error
        return await real(*args, **kwargs)

    return once


async def readyz(engine: AsyncEngine, supervisor: Supervisor) -> httpx.Response:
    web = create_web_app(engine, supervisor.problems)
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://trustbot") as client:
        return await client.get("/readyz")


def two_platforms(setup: Rhythm, *, digest: bool = False) -> tuple[Jobs, RecordingNotifier]:
    """The setup's jobs over Slack and a second platform (Teams) with its own audience."""
    teams = RecordingNotifier([Person(f"T0S{n}") for n in range(2)], ["19:lead"] if digest else [])
    jobs = Jobs(setup.services, {"slack": setup.notifier, "teams": teams}, setup.sender)
    return jobs, teams


# --- the outbox sender ---------------------------------------------------------------------


async def test_a_sender_that_fails_is_started_again_and_sends(
    rhythm: RhythmFactory, caplog: pytest.LogCaptureFixture
) -> None:
    setup = await rhythm(PEOPLE)
    supervisor, stop = fast_supervisor(), asyncio.Event()
    setup.sender._claim = failing_once(setup.sender._claim, RuntimeError("boom"))  # type: ignore[method-assign]
    await setup.jobs.prompt(now=True)

    task = supervisor.spawn(SENDER_TASK, lambda: setup.sender.run(stop), stop)
    await wait_until(lambda: len(setup.notifier.prompts) == len(PEOPLE), "every prompt sent")
    stop.set()
    setup.sender.wake()
    await task

    failed = [r for r in caplog.records if "the outbox sender failed (1 in a row)" in r.message]
    assert failed
    assert failed[0].exc_info is not None  # logged with its traceback
    assert supervisor.problems() == []


async def test_a_sender_that_keeps_failing_turns_readiness_red(
    rhythm: RhythmFactory, engine: AsyncEngine
) -> None:
    setup = await rhythm(PEOPLE)
    supervisor, stop = fast_supervisor(), asyncio.Event()

    async def broken(limit: int) -> list[Any]:
        raise RuntimeError("a secret-looking message that must not be shown")

    setup.sender._claim = broken  # type: ignore[method-assign]
    assert (await readyz(engine, supervisor)).status_code == 200

    task = supervisor.spawn(SENDER_TASK, lambda: setup.sender.run(stop), stop)
    await wait_until(lambda: bool(supervisor.problems()), "the sender reported as failing")
    response = await readyz(engine, supervisor)
    stop.set()
    await task

    assert response.status_code == 503
    (reason,) = response.json()["reasons"]
    assert reason.startswith("the outbox sender keeps failing (")
    assert "RuntimeError at test_supervision.py:" in reason
    assert "secret" not in response.text


# --- the leader loop -----------------------------------------------------------------------


@pytest.fixture
async def runtime(database_url: str, engine: AsyncEngine) -> AsyncIterator[Runtime]:
    async with open_runtime(
        make_settings(database_url), supervisor=fast_supervisor(), prepare=False
    ) as built:
        yield built


async def test_a_leader_loop_whose_election_fails_starts_again_and_leads(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    started = 0
    real_start = runtime.scheduler.start

    async def start() -> None:
        nonlocal started
        started += 1
        if started == 1:
            raise RuntimeError("boom")
        await real_start()

    runtime.scheduler.start = start  # type: ignore[method-assign]
    # Taken at once again after the failure (PostgreSQL retries every TRUSTBOT_LEADER_RETRY).
    runtime.services.settings.leader_retry = timedelta(seconds=1)
    stop = asyncio.Event()
    rhythm_task = asyncio.create_task(runtime.run_rhythm(stop))
    await wait_until(lambda: started == 2, "the scheduler started a second time")
    stop.set()
    await rhythm_task

    assert any(f"{LEADER_TASK} failed (1 in a row)" in r.message for r in caplog.records)
    assert runtime.supervisor.problems() == []


async def test_a_leader_loop_that_keeps_failing_turns_readiness_red(
    runtime: Runtime, engine: AsyncEngine
) -> None:
    async def start() -> None:
        raise RuntimeError("boom")

    runtime.scheduler.start = start  # type: ignore[method-assign]
    runtime.services.settings.leader_retry = timedelta(seconds=1)
    stop = asyncio.Event()
    rhythm_task = asyncio.create_task(runtime.run_rhythm(stop))
    await wait_until(lambda: bool(runtime.supervisor.problems()), "the leader loop failing")
    response = await readyz(engine, runtime.supervisor)
    stop.set()
    await rhythm_task

    assert response.status_code == 503
    assert response.json()["reasons"][0].startswith(f"{LEADER_TASK} keeps failing")


# --- the scheduler's jobs: each platform on its own, tried again within the grace ----------


async def test_one_platforms_audience_failing_does_not_stop_the_others_prompts(
    rhythm: RhythmFactory,
) -> None:
    setup = await rhythm(PEOPLE)
    jobs, teams = two_platforms(setup)
    setup.notifier.resolve_audience = failing_once(  # type: ignore[method-assign]
        failing_once(setup.notifier.resolve_audience, RuntimeError("directory down")),
        RuntimeError("directory down"),
    )
    supervisor = fast_supervisor()
    scheduler = Scheduler(setup.services, jobs, supervisor=supervisor, job_retry_s=0.01)
    setup.clock.now = MONDAY_0900 + timedelta(minutes=1)

    with pytest.raises(PlatformsFailedError, match="slack: RuntimeError"):
        await jobs.prompt(MONDAY_0900)
    assert await setup.count(Delivery) == len(teams.people)  # Teams' people have theirs

    await scheduler.fire("prompt")  # the clock's run: Slack fails once more, then is tried again

    assert await setup.count(Delivery) == len(PEOPLE) + len(teams.people)
    assert await setup.count(JobRun, JobRun.name == "prompt") == 2  # one per platform
    assert supervisor.problems() == []


async def test_a_job_that_fails_at_every_try_within_the_grace_turns_readiness_red(
    rhythm: RhythmFactory, engine: AsyncEngine
) -> None:
    setup = await rhythm(PEOPLE, TRUSTBOT_MISFIRE_GRACE="1h")

    async def down() -> list[Person]:
        raise RuntimeError("directory down")

    setup.notifier.resolve_audience = down  # type: ignore[method-assign]
    supervisor = fast_supervisor()
    scheduler = Scheduler(setup.services, setup.jobs, supervisor=supervisor, job_retry_s=60)
    setup.clock.now = MONDAY_0900 + timedelta(minutes=59, seconds=30)  # a try more is too late

    await scheduler.fire("prompt")

    response = await readyz(engine, supervisor)
    assert response.status_code == 503
    assert response.json()["reasons"][0].startswith("the prompt job keeps failing")
    # Until it works again (an operator's prompt --now, or the next week's run).
    setup.notifier.resolve_audience = lambda: asyncio.sleep(0, PEOPLE)  # type: ignore[method-assign]
    await scheduler.fire("prompt")
    assert (await readyz(engine, supervisor)).status_code == 200


# --- the catch-up --------------------------------------------------------------------------


async def test_a_database_error_in_the_catch_up_starts_it_again(
    rhythm: RhythmFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="trustbot")
    setup = await rhythm(PEOPLE)
    supervisor = fast_supervisor()
    scheduler = Scheduler(setup.services, setup.jobs, supervisor=supervisor, job_retry_s=0.01)
    scheduler._ran_since = failing_once(  # type: ignore[method-assign]
        scheduler._ran_since, OperationalError("SELECT", {}, Exception("connection lost"))
    )
    setup.clock.now = MONDAY_0900 + timedelta(hours=1)

    await scheduler.start()
    try:
        await wait_until(lambda: "catch-up done: prompt" in caplog.text, "the catch-up done")
    finally:
        await scheduler.stop()

    assert await setup.count(JobRun, JobRun.name == "prompt") == 1
    assert any(f"{CATCH_UP} failed (1 in a row)" in r.message for r in caplog.records)
    assert supervisor.problems() == []


async def test_a_catch_up_that_keeps_failing_turns_readiness_red(
    rhythm: RhythmFactory, engine: AsyncEngine
) -> None:
    setup = await rhythm(PEOPLE)
    supervisor = fast_supervisor()
    scheduler = Scheduler(setup.services, setup.jobs, supervisor=supervisor)

    async def broken(*args: Any) -> bool:
        raise OperationalError("SELECT", {}, Exception("connection lost"))

    scheduler._ran_since = broken  # type: ignore[method-assign]
    await scheduler.start()
    try:
        await wait_until(lambda: bool(supervisor.problems()), "the catch-up failing")
        response = await readyz(engine, supervisor)
    finally:
        await scheduler.stop()

    assert response.status_code == 503
    assert response.json()["reasons"][0].startswith(f"{CATCH_UP} keeps failing")


# --- the digest ----------------------------------------------------------------------------


async def test_a_digest_that_fails_on_one_platform_is_tried_again_and_queued(
    rhythm: RhythmFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = await rhythm(PEOPLE, **LEADERSHIP)
    jobs, _ = two_platforms(setup, digest=True)
    monkeypatch.setattr(
        jobs_module,
        "enqueue_digests",
        failing_once(jobs_module.enqueue_digests, RuntimeError("database hiccup")),
    )
    supervisor = fast_supervisor()
    scheduler = Scheduler(setup.services, jobs, supervisor=supervisor, job_retry_s=0.01)
    setup.clock.now = FRIDAY_0800 + timedelta(minutes=1)

    await scheduler.fire("digest")

    assert await setup.count(Delivery, Delivery.kind == DeliveryKind.DIGEST) == 2
    assert await setup.count(JobRun, JobRun.name.like("digest:%")) == 2
    assert supervisor.problems() == []
