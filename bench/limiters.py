"""Benchmark: trustbot's hand-written Pacer and BackgroundWork against aiolimiter and aiojobs.

Prints figures; asserts nothing but that every job ran. Four measurements, each run --repeat
times (the median is printed):

1. acquire cost: --acquires starts through a bucket that never waits (µs per acquire);
2. paced starts: --tasks tasks take starts from a bucket of --rate/s with a burst of --burst
   for --seconds; how many started, against what the rate allows, and how late the last one was;
3. spawn cost: --jobs trivial jobs through BackgroundWork(limit=64) and aiojobs.Scheduler(
   limit=64) until all have finished (µs per job);
4. shutdown: 100 jobs of which half hang; how long drain(0.2 s) / wait_and_close(0.2 s) takes,
   and how many jobs were cancelled.

The features the sender needs beyond a fixed-rate bucket (a rate that falls on a 429 and climbs
back, one pause for the whole sender until a Retry-After, one start per second per channel, a
clock and sleep a test can drive) are listed as each library offers them.

    .venv/bin/python bench/limiters.py [--acquires 50000] [--rate 500] [--burst 20]
        [--tasks 100] [--seconds 1.0] [--jobs 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiojobs
from aiolimiter import AsyncLimiter

from trustbot.concurrency import BackgroundWork
from trustbot.delivery.pacing import Pacer

Acquire = Callable[[], Awaitable[None]]


def _pacer(rate: float, burst: int) -> Acquire:
    pacer = Pacer(rate=rate, burst=burst)
    return pacer.acquire


def _aiolimiter(rate: float, burst: int) -> Acquire:
    # aiolimiter's bucket holds max_rate and drains max_rate per time_period: a burst of
    # `burst` at `rate` per second is (burst, burst / rate).
    limiter = AsyncLimiter(burst, burst / rate)
    return limiter.acquire


BUCKETS: dict[str, Callable[[float, int], Acquire]] = {
    "Pacer (hand-written)": _pacer,
    "aiolimiter.AsyncLimiter": _aiolimiter,
}


async def acquire_cost(make: Callable[[float, int], Acquire], count: int) -> float:
    """µs per acquire when the bucket never makes anyone wait."""
    acquire = make(1e12, 10**9)
    started = time.perf_counter()
    for _ in range(count):
        await acquire()
    return (time.perf_counter() - started) / count * 1e6


async def paced_starts(
    make: Callable[[float, int], Acquire], *, rate: float, burst: int, tasks: int, seconds: float
) -> tuple[int, float, float]:
    """(starts within `seconds`, what the rate allows, the worst lateness of a start in ms)."""
    acquire = make(rate, burst)
    starts: list[float] = []
    begin = time.monotonic()
    deadline = begin + seconds

    async def worker() -> None:
        while time.monotonic() < deadline:
            await acquire()
            now = time.monotonic()
            if now <= deadline:
                starts.append(now - begin)

    await asyncio.gather(*(worker() for _ in range(tasks)))
    allowed = burst + rate * seconds
    starts.sort()
    # The n-th start (counting from 0) is due at (n - burst + 1) / rate once the burst is spent.
    late = max((at - max(0.0, (n - burst + 1) / rate) for n, at in enumerate(starts)), default=0.0)
    return len(starts), allowed, late * 1000


async def _trivial() -> None:
    await asyncio.sleep(0)


async def spawn_cost_background(jobs: int) -> float:
    """µs per job through BackgroundWork (spawn is synchronous; drain waits for all)."""
    work = BackgroundWork(limit=64)
    started = time.perf_counter()
    for _ in range(jobs):
        work.spawn(_trivial(), what="bench")
    await work.drain(60)
    return (time.perf_counter() - started) / jobs * 1e6


async def spawn_cost_aiojobs(jobs: int) -> float:
    """µs per job through aiojobs (spawn is a coroutine; wait_and_close waits for all)."""
    scheduler = aiojobs.Scheduler(limit=64, pending_limit=jobs)
    started = time.perf_counter()
    for _ in range(jobs):
        await scheduler.spawn(_trivial())
    await scheduler.wait_and_close(60)
    return (time.perf_counter() - started) / jobs * 1e6


async def _maybe_hang(index: int) -> None:
    await asyncio.sleep(3600 if index % 2 else 0.01)


async def shutdown_background() -> tuple[float, int]:
    work = BackgroundWork(limit=64)
    for index in range(100):
        work.spawn(_maybe_hang(index), what="bench")
    await asyncio.sleep(0)
    started = time.perf_counter()
    pending = work.pending
    await work.drain(0.2)
    return time.perf_counter() - started, pending - work.pending


async def shutdown_aiojobs() -> tuple[float, int]:
    scheduler = aiojobs.Scheduler(limit=64, close_timeout=1.0)
    jobs = [await scheduler.spawn(_maybe_hang(index)) for index in range(100)]
    await asyncio.sleep(0)
    started = time.perf_counter()
    await scheduler.wait_and_close(0.2)
    return time.perf_counter() - started, sum(1 for job in jobs if job.closed)


def _median(values: list[float]) -> float:
    return statistics.median(values)


async def main(args: argparse.Namespace) -> None:
    logging.getLogger("trustbot.concurrency").setLevel(logging.ERROR)  # the cancelled jobs
    print(f"1. acquire cost, {args.acquires} acquires that never wait (median of {args.repeat})")
    for name, make in BUCKETS.items():
        costs = [await acquire_cost(make, args.acquires) for _ in range(args.repeat)]
        print(f"   {name:<26} {_median(costs):6.2f} µs per acquire")

    print(
        f"\n2. paced starts: {args.tasks} tasks, {args.rate:g}/s with a burst of {args.burst}, "
        f"for {args.seconds:g} s"
    )
    for name, make in BUCKETS.items():
        runs = [
            await paced_starts(
                make, rate=args.rate, burst=args.burst, tasks=args.tasks, seconds=args.seconds
            )
            for _ in range(args.repeat)
        ]
        started = _median([run[0] for run in runs])
        allowed = runs[0][1]
        late = _median([run[2] for run in runs])
        print(
            f"   {name:<26} {started:6.0f} starts of {allowed:.0f} allowed "
            f"({100 * started / allowed:5.1f} %), latest start {late:5.1f} ms behind schedule"
        )

    print(f"\n3. spawn cost, {args.jobs} trivial jobs, at most 64 at once")
    background = [await spawn_cost_background(args.jobs) for _ in range(args.repeat)]
    scheduled = [await spawn_cost_aiojobs(args.jobs) for _ in range(args.repeat)]
    print(f"   {'BackgroundWork (hand-written)':<30} {_median(background):6.2f} µs per job")
    print(f"   {'aiojobs.Scheduler':<30} {_median(scheduled):6.2f} µs per job")

    print("\n4. shutdown with a 0.2 s budget: 100 jobs, 50 of them hanging")
    for name, run in (
        ("BackgroundWork.drain", shutdown_background),
        ("aiojobs wait_and_close", shutdown_aiojobs),
    ):
        took, ended = await run()
        print(f"   {name:<30} {took * 1000:6.0f} ms, {ended} jobs ended")

    print("\n5. what the sender needs beyond a fixed-rate bucket")
    features: list[tuple[str, Any, Any]] = [
        ("rate falls on a 429, climbs back", "slow_down()/succeeded()", "no (rate fixed at init)"),
        ("whole sender waits out Retry-After", "slow_down(retry_after)", "no"),
        ("one start per second per channel", "acquire(channel)", "no (one bucket per key)"),
        ("clock and sleep a test can drive", "clock=, sleep=", "no (loop.time())"),
    ]
    print(f"   {'':<36} {'Pacer':<26} aiolimiter")
    for need, ours, theirs in features:
        print(f"   {need:<36} {ours:<26} {theirs}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--acquires", type=int, default=50_000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
