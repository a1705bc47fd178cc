"""Benchmark: one week's prompt to a large audience through a rate-limited, unreliable Slack.

Prints figures; asserts nothing. The local Slack emulator runs in this process with a
workspace-wide limit on chat.postMessage (--rate per second, --burst at once, one per second
per channel) and answers a share of the calls that get through with a random 429
(Retry-After: 1) or a 5xx. trustbot runs as its own process, `trustbot prompt --now`, exactly as
an operator starts it, against a temporary SQLite file (or --database-url). With --chaos the
process is SIGKILLed --kills times mid-run and started again each time.

    .venv/bin/python bench/fanout.py [--people 10000] [--rate 20] [--burst 5]
        [--p429 0.02] [--p5xx 0.02] [--chaos] [--kills 3] [--database-url URL]

It prints who got the prompt (delivered), who did not (lost), extra copies (duplicated), the
elapsed time from the first start to the last exit, the achieved rate (delivered / elapsed)
against the allowed one, the peak RSS and CPU time of the trustbot processes, and whether the
targets are met (0 lost; at most one duplicate per kill; >= 90% of the allowed rate; <= 200 MB).
trustbot is told the allowed rate and burst (TRUSTBOT_SEND_RATE, TRUSTBOT_SEND_BURST), as an
operator would set them; --env NAME=VALUE passes more settings. A quick run takes seconds:
`--people 1000 --rate 100 --burst 10`. --timeline N prints calls per N seconds; --py-spy PREFIX
profiles each trustbot process (py-spy installed in the venv).

--database-url must point at a scratch database: every trustbot table in it is emptied first.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import resource
import secrets
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, select

from trustbot.db.base import Base
from trustbot.db.migrate import upgrade_to_head
from trustbot.db.models import Delivery
from trustbot.db.session import create_engine
from trustbot.devtools.emulator import EmulatedUser, SlackEmulator

CHANNEL = "C0FANOUT"
POST = "chat.postMessage"


@dataclass
class Run:
    """What happened to the trustbot processes of one benchmark run."""

    starts: int = 0
    kills: int = 0
    exit_codes: list[int] = field(default_factory=list)
    peak_rss_kb: int = 0
    peaks_kb: list[int] = field(default_factory=list)  # each process's, as last seen
    last_output: str = ""


def _peak_rss_kb(pid: int) -> int:
    """VmHWM (the peak resident set size so far) of a running process, in KiB; 0 once it is
    gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


async def _empty_database(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine)
        async with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                await connection.execute(delete(table))
    finally:
        await engine.dispose()


async def _outbox(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(Delivery.status, func.count()).group_by(Delivery.status)
            )
            return {str(status.value): int(n) for status, n in rows}
    finally:
        await engine.dispose()


async def _sender(
    env: dict[str, str],
    emulator: SlackEmulator,
    run: Run,
    kill_at: int | None,
    workdir: Path,
    profile: str | None,
) -> bool:
    """One `trustbot prompt --now`; SIGKILLed once `kill_at` prompts have arrived. Whether it
    was killed."""
    log = (workdir / f"sender-{run.starts}.log").open("wb")
    command = [sys.executable, "-m", "trustbot", "prompt", "--now"]
    if profile is not None:  # py-spy's collapsed stacks of this run, for flame graphs
        out = f"{profile}.{run.starts}.txt"
        command = [str(Path(sys.executable).with_name("py-spy")), "record", "--format", "raw"]
        command += ["--rate", "200", "--gil", "-o", out, "--", sys.executable, "-m", "trustbot"]
        command += ["prompt", "--now"]
    process = await asyncio.create_subprocess_exec(
        *command,
        env=env,
        cwd=workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=log,
    )
    run.starts += 1
    killed = False
    peak = 0
    while process.returncode is None:
        peak = max(peak, _peak_rss_kb(process.pid))
        run.peak_rss_kb = max(run.peak_rss_kb, peak)
        if kill_at is not None and emulator.performed_counts[POST] >= kill_at:
            # A moment within the next message's interval, not in step with the sends.
            await asyncio.sleep(random.uniform(0, 0.1))
            process.send_signal(signal.SIGKILL)
            killed = True
            run.kills += 1
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), timeout=0.05)
    out, _ = await process.communicate()
    log.close()
    run.peaks_kb.append(peak)
    run.exit_codes.append(process.returncode or 0)
    if not killed:
        run.last_output = out.decode().strip()
    return killed


async def main(args: argparse.Namespace) -> None:
    people = [
        EmulatedUser(id=f"U{index:07d}", name=f"u{index}", real_name=f"U {index}")
        for index in range(args.people)
    ]
    token = "xoxb-bench-" + secrets.token_hex(8)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url = args.database_url or f"sqlite:///{workdir / 'fanout.db'}"
        await _empty_database(url)
        emulator = SlackEmulator(
            bot_token=token,
            users=people,
            channels={CHANNEL: [user.id for user in people]},
            page_size=200,
        )
        emulator.limit_rate(POST, per_second=args.rate, burst=args.burst, per_channel_per_second=1)
        emulator.inject_random_failures(
            POST, rate_429=args.p429, rate_5xx=args.p5xx, seed=args.seed, retry_after=1
        )
        arrivals: list[float] = []  # when each chat.postMessage call arrived
        emulator.call_observers.append(
            lambda method: arrivals.append(time.monotonic()) if method == POST else None
        )
        async with emulator:
            env = {
                name: value
                for name, value in os.environ.items()
                if not name.startswith(("SLACK_", "TRUSTBOT_"))
            }
            env.update(
                SLACK_BOT_TOKEN=token,
                SLACK_API_URL=emulator.base_url,
                TRUSTBOT_DATABASE_URL=url,
                TRUSTBOT_PSEUDONYM_KEY=secrets.token_hex(32),
                TRUSTBOT_AUDIENCE=CHANNEL,
                TRUSTBOT_SEND_RATE=str(args.rate),
                TRUSTBOT_SEND_BURST=str(args.burst),
                TRUSTBOT_LOG_LEVEL="warning",
            )
            env.update(dict(item.split("=", 1) for item in args.env))
            kills = (
                [int(args.people * (k + 1) / (args.kills + 1)) for k in range(args.kills)]
                if args.chaos
                else []
            )
            run = Run()
            started = time.monotonic()
            for kill_at in [*kills, None]:
                if not await _sender(env, emulator, run, kill_at, workdir, args.py_spy):
                    break
            elapsed = time.monotonic() - started
            send_phase = time.monotonic() - arrivals[0] if arrivals else 0.0
        outbox = await _outbox(url)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)

    counts = emulator.dm_message_counts()
    delivered = sum(1 for user in people if counts.get(user.id, 0) > 0)
    duplicated = sum(max(0, counts.get(user.id, 0) - 1) for user in people)
    statuses = Counter(
        {status: n for (method, status), n in emulator.status_counts.items() if method == POST}
    )
    # VmHWM of each trustbot process, polled every 50 ms. Not getrusage's ru_maxrss: a child
    # forked from this process counts this process's memory (the emulator's) until its exec.
    peak_mb = run.peak_rss_kb / 1024
    backend = url.split(":", 1)[0]
    print(
        f"fan-out: {args.people} people, {backend}, allowed {args.rate:g}/s (burst {args.burst},"
        f" 1/s per channel), random 429 {args.p429:.0%}, 5xx {args.p5xx:.0%}"
        + (f", chaos: {run.kills} SIGKILLs" if args.chaos else "")
    )
    print(f"trustbot prompt --now: {run.starts} starts, exit codes {run.exit_codes}")
    print(f"  last run said: {run.last_output}")
    print(
        "chat.postMessage answers: "
        + ", ".join(f"{n} x {status}" for status, n in sorted(statuses.items()))
    )
    print(f"outbox: {dict(sorted(outbox.items()))}")
    print(f"delivered   {delivered}")
    print(f"lost        {args.people - delivered}")
    print(f"duplicated  {duplicated}" + (f" ({run.kills} kills)" if args.chaos else ""))
    print(f"elapsed     {elapsed:.1f} s (first prompt to last exit: {send_phase:.1f} s)")
    achieved = delivered / elapsed if elapsed else 0.0
    print(
        f"rate        {achieved:.2f}/s achieved / {args.rate:g}/s allowed = "
        f"{achieved / args.rate:.1%}"
    )
    each = ", ".join(f"{kb / 1024:.0f}" for kb in run.peaks_kb)
    print(f"peak RSS    {peak_mb:.0f} MB (trustbot process; each, as last polled: {each} MB)")
    print(f"CPU         {children.ru_utime + children.ru_stime:.1f} s (trustbot processes)")
    lost = args.people - delivered
    checks = [
        ("0 lost", lost == 0),
        (f"at most {run.kills} duplicated", duplicated <= run.kills),
        ("rate >= 90% of allowed", achieved >= 0.9 * args.rate),
        ("peak RSS <= 200 MB", peak_mb <= 200),
    ]
    print("targets:    " + ", ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in checks))
    if args.timeline and arrivals:
        per_window = Counter(int((t - arrivals[0]) // args.timeline) for t in arrivals)
        print(f"chat.postMessage calls per {args.timeline:g} s:")
        print(" ".join(str(per_window.get(w, 0)) for w in range(max(per_window) + 1)))
        refused = Counter(
            int((t - arrivals[0]) // args.timeline)
            for t, call in zip(arrivals, emulator.calls_to(POST), strict=False)
            if call.status == 429
        )
        print("of which 429:")
        print(" ".join(str(refused.get(w, 0)) for w in range(max(per_window) + 1)))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=20.0, help="allowed messages per second")
    parser.add_argument("--burst", type=int, default=5, help="messages allowed at once")
    parser.add_argument("--p429", type=float, default=0.02, help="share of random 429s")
    parser.add_argument("--p5xx", type=float, default=0.02, help="share of random 5xx")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--chaos", action="store_true", help="SIGKILL and restart mid-run")
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument(
        "--timeline", type=float, default=0, help="print calls per window of this many seconds"
    )
    parser.add_argument("--py-spy", default=None, help="profile each run into PREFIX.N.txt")
    parser.add_argument("--database-url", default=None, help="a scratch database (emptied)")
    parser.add_argument(
        "--env", action="append", default=[], help="NAME=VALUE for the trustbot process"
    )
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(_arguments()))
