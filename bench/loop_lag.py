"""Benchmark: how long the event loop is kept from other work (a click's ack) while the weekly
prompt job queues a large audience with per-person local times.

Prints figures; asserts nothing. For each --people count it runs the scheduled prompt job
(`Jobs.prompt` with TRUSTBOT_DELIVERY_TIME=local, people spread over 24 time zones) against a
fresh database, while a probe task asks to wake every 5 ms and records how late it wakes: the
event-loop lag a request arriving at that moment would wait before being read. The floor (the
same probe on an idle loop, over the same length of time) is measured first in the same run.

    .venv/bin/python bench/loop_lag.py [--people 10000 100000] [--database-url URL]

Without --database-url it uses a temporary SQLite file; a --database-url must point at a
scratch database (every trustbot table in it is emptied). Target: lag p99 under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime

from sqlalchemy import delete

from trustbot.app import open_services
from trustbot.concurrency import event_loop_factory
from trustbot.config import load_settings
from trustbot.core.ports import Person, Prompt, SentMessage
from trustbot.core.reports import TrustReport
from trustbot.db.base import Base
from trustbot.db.migrate import upgrade_to_head
from trustbot.db.session import create_engine
from trustbot.delivery.sender import OutboxSender
from trustbot.scheduler.jobs import Jobs

KEY = "bench-pseudonym-key-0123456789abcdef0123456789"
PROBE_S = 0.005
ZONES = [f"Etc/GMT{offset:+d}" if offset else "UTC" for offset in range(-12, 12)]
MONDAY_0900 = datetime(2026, 11, 23, 8, tzinfo=UTC)


class Audience:
    """A platform whose audience is `count` people in 24 zones; it sends nothing."""

    platform = "slack"
    digest_targets: list[str] = []  # noqa: RUF012 - the Notifier protocol's attribute

    def __init__(self, count: int) -> None:
        self.people = [Person(f"U{n:07d}", tz=ZONES[n % len(ZONES)]) for n in range(count)]

    async def resolve_audience(self) -> list[Person]:
        return self.people

    async def resolve_teams(self) -> dict[str, str]:
        return {}

    async def send_prompt(self, user_id: str, prompt: Prompt, *, reminder: bool) -> SentMessage:
        raise AssertionError("nothing is sent in this benchmark")

    async def send_digest(self, channel_id: str, report: TrustReport) -> SentMessage:
        raise AssertionError("nothing is sent in this benchmark")


async def probe(stop: asyncio.Event, lags: list[float]) -> None:
    """Wake every PROBE_S; record how late each wake-up is (ms)."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        asked = loop.time()
        await asyncio.sleep(PROBE_S)
        lags.append((loop.time() - asked - PROBE_S) * 1000)


def describe(lags: list[float]) -> str:
    ordered = sorted(lags)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"p50 {statistics.median(ordered):6.1f} ms  p99 {p99:6.1f} ms  "
        f"max {ordered[-1]:6.1f} ms  ({len(ordered)} probes)"
    )


async def one_run(url: str, people: int) -> None:
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine)
        async with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                await connection.execute(delete(table))
        settings = load_settings(
            _env_file=None,
            TRUSTBOT_DATABASE_URL=url,
            TRUSTBOT_PSEUDONYM_KEY=KEY,
            TRUSTBOT_DELIVERY_TIME="local",
            SLACK_BOT_TOKEN="xoxb-bench",  # noqa: S106 - nothing is sent
        )
        async with open_services(
            settings, clock=lambda: MONDAY_0900, prepare=False, engine=engine
        ) as services:
            audience = Audience(people)
            notifiers = {"slack": audience}
            jobs = Jobs(services, notifiers, OutboxSender(services, notifiers))

            stop, busy = asyncio.Event(), []
            prober = asyncio.create_task(probe(stop, busy))
            began = time.perf_counter()
            await jobs.prompt(MONDAY_0900)
            elapsed = time.perf_counter() - began
            stop.set()
            await prober

        floor: list[float] = []
        stop = asyncio.Event()
        prober = asyncio.create_task(probe(stop, floor))
        await asyncio.sleep(elapsed)
        stop.set()
        await prober
        print(f"{people:>7} people: prompt job {elapsed:6.2f} s")
        print(f"         floor (idle loop): {describe(floor)}")
        print(f"         while queueing:    {describe(busy)}")
    finally:
        await engine.dispose()


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        url = args.database_url or f"sqlite:///{workdir}/bench.db"
        print(f"database: {url.split('@')[-1]}; probe every {PROBE_S * 1000:.0f} ms")
        for people in args.people:
            await one_run(url, people)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--database-url")
    factory = event_loop_factory()
    arguments = parser.parse_args()
    if factory is None:
        asyncio.run(main(arguments))
    else:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(main(arguments))
