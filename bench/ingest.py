"""Benchmark: how many score clicks per second trustbot ingests, next to a bolt app that only acks.

Prints figures; asserts nothing.

    .venv/bin/python bench/ingest.py [--database-url URL] [--sqlite] [--people 2000]
        [--rate 200] [--seconds 10] [--connections 16] [--workers N] [--profile PATH] [--logs DIR]

Method. One run measures, one after the other on the same machine:

* bare: a minimal slack_bolt AsyncApp on FastAPI under uvicorn (this script with --serve-bare,
  in its own process) whose only listener acks the score buttons. Same bolt, signature check and
  single-team authorizer as trustbot: the ceiling of the stack, and of the load generator.
* trustbot-postgresql (and trustbot-sqlite with --sqlite): the real `trustbot serve` process,
  after `trustbot migrate`, emptying trustbot's tables, and `trustbot prompt --now` (so that
  every person has a delivered prompt).

Both use the local Slack Web API emulator (trustbot.devtools.emulator) running in this process
with --people people (U0000001...). Clicks are Slack block_actions payloads on each person's
prompt (built with SlackPayloads), form-encoded as payload=<json>. They are built here and sent
from a separate load-generator process (aiohttp, keep-alive HTTP/1.1), which signs each one as
SlackDriver.post_signed does, with a fresh timestamp at send time. Click i comes from person
i mod --people; each time a person clicks again, their score changes.

Per target, after a 1 s warm-up at a quarter of --rate:
1. Fixed offered load: open loop, --rate clicks/s for --seconds, each sent on schedule without
   waiting for earlier ones. Latency runs from the scheduled send to the response ("lag" is the
   generator's worst lateness). Errors: non-200 answers and transport errors (10 s timeout).
2. Maximum throughput: closed loop, --connections requests in flight for --seconds; "ack/s" is
   answers per second. trustbot keeps working after the ack (stores the answer, then confirms
   it privately with chat.postEphemeral), so the script waits until the emulator has seen one
   confirmation per acked click: "drain" is how long that took after the load ended,
   "done/s" = confirmations / (load time + drain), and "vs bare" = done/s divided by
   the bare app's ack/s. "gen cpu" is the load generator's CPU use (100% = one core busy),
   "emu cpu" this process's (the emulator) during load and drain, and "srv ms" the server's CPU
   time (all its processes) per click done, over load and drain: the cost of one click.

Then each person's stored score (pulse_answers, by pseudonym) is compared with the score of
their last click sent: "mismatch" counts people whose stored score differs (or is missing).
serve's stderr goes to a file (in --logs DIR, else a temporary directory): "ERROR" counts its
ERROR lines, "locked" the lines saying 'database is locked'; the commonest errors are printed.

--profile PATH runs `py-spy record --subprocesses` on trustbot serve during the throughput
phase (PATH gets the target's name added): a flame graph for .svg, speedscope for .json,
otherwise collapsed stacks and a printed list of the hottest functions. Needs py-spy in .venv.
--workers N is passed to `trustbot serve` if its --help lists that option, else ignored.

**--database-url empties every trustbot table in that database** (default
postgresql://postgres@127.0.0.1:5432/trustbot_ingest_bench; '' skips PostgreSQL). Use a scratch
database: psql -h 127.0.0.1 -U postgres -c 'create database trustbot_ingest_bench'.
The emulator, the load generator, the server and the database all share this machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import multiprocessing
import os
import platform
import re
import secrets
import sqlite3
import sys
import tempfile
import time
from asyncio.subprocess import DEVNULL, PIPE
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import httpx
import uvicorn
from fastapi import FastAPI, Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import delete, select, text

from trustbot.core.privacy import pseudonym, round_handle
from trustbot.db.base import Base
from trustbot.db.models import PulseAnswer
from trustbot.db.session import create_engine
from trustbot.devtools.driver import SlackPayloads
from trustbot.devtools.emulator import EmulatedUser, SlackEmulator
from trustbot.devtools.loopback import bind_loopback_socket

BIN = Path(sys.executable).parent
# Placeholder for a click's action_ts, replaced at send time (same length as the real value);
# the clock starts well before now so that every click of a run is later than the prompt.
ACTION_TS = b"0000000000.000000"
ACTION_TS_BASE = 1_700_000_000.0
# trustbot confirms every click privately, once (chat.update only marks a first answer).
FOLLOW_UPS = ("chat.postEphemeral",)
SCRIPT = str(Path(__file__).resolve())
DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/trustbot_ingest_bench"
STALL_SECONDS = 15  # stop waiting for the drain when no follow-up arrived for this long


def score_of(click: int, people: int) -> int:
    """The score of click `click`: person click % people, changing with each of their clicks."""
    return (click % people + click // people) % 5 + 1


# ---------------------------------------------------------------- the load generator process


@dataclass
class Phase:
    """One load phase: clicks first, first+1, ... posted to `url`."""

    url: str
    secret: str
    bodies: Path  # JSON: bodies[person][score - 1]
    first: int
    seconds: float
    rate: float = 0.0  # open loop: clicks/s, sent on a fixed schedule
    connections: int = 0  # if set, closed loop: this many requests in flight


@dataclass
class Load:
    """What one load phase did, as the generator saw it."""

    sent: int
    errors: int
    latencies: list[float]  # ms, of the 200 answers
    seconds: float  # first send to last answer
    ended: float  # time.time() at the last answer
    lag_ms: float  # open loop: worst lateness of a send against its schedule
    cpu: float  # the generator's CPU time / wall time
    first_error: str
    done: int = 0  # clicks fully processed (follow-up calls seen by the emulator)
    drain: float = 0.0  # seconds from the end of the load until they were
    emulator_cpu: float = 0.0  # this process's CPU time / wall time, load and drain
    server_cpu: float = 0.0  # the server's CPU seconds (all its processes), load and drain


def generate(phase: Phase, pipe: Connection) -> None:
    """Entry of the generator process: run the phase, send back a Load."""
    bodies = [[body.encode() for body in scores] for scores in json.loads(phase.bodies.read_text())]
    pipe.send(asyncio.run(_generate(phase, bodies)))


async def _generate(phase: Phase, bodies: list[list[bytes]]) -> Load:
    verifier, people = SignatureVerifier(phase.secret), len(bodies)
    latencies: list[float] = []
    errors: list[str] = []
    # Closed loop: `connections` keep-alive connections; open loop: as many as needed (limit 0).
    connector = aiohttp.TCPConnector(limit=phase.connections)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def click(index: int, since: float) -> None:
            # Slack stamps every click with when it was made (action_ts), and trustbot keeps a
            # person's latest: each send gets its own, in the order the generator sends them.
            stamp = f"{ACTION_TS_BASE + index / 1_000_000:.6f}".encode()
            body = bodies[index % people][score_of(index, people) - 1].replace(ACTION_TS, stamp)
            timestamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": verifier.generate_signature(timestamp=timestamp, body=body),
                "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            }
            try:
                async with http.post(phase.url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status == 200:
                        latencies.append((time.perf_counter() - since) * 1000)
                        return
                    errors.append(f"HTTP {response.status}")
            except (aiohttp.ClientError, TimeoutError) as error:
                errors.append(repr(error))

        cpu, began, lag = time.process_time(), time.perf_counter(), 0.0
        if phase.connections:
            counter, end = itertools.count(phase.first), began + phase.seconds

            async def worker() -> None:
                while time.perf_counter() < end:
                    await click(next(counter), time.perf_counter())

            await asyncio.gather(*(worker() for _ in range(phase.connections)))
            sent = next(counter) - phase.first
        else:
            sent, tasks = round(phase.rate * phase.seconds), []
            for offset in range(sent):
                due = began + offset / phase.rate
                if (delay := due - time.perf_counter()) > 0:
                    await asyncio.sleep(delay)
                lag = max(lag, time.perf_counter() - due)
                tasks.append(asyncio.create_task(click(phase.first + offset, due)))
            await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
    cpu = (time.process_time() - cpu) / elapsed
    first_error = errors[0] if errors else ""
    return Load(sent, len(errors), latencies, elapsed, time.time(), lag * 1000, cpu, first_error)


async def run_load(phase: Phase) -> Load:
    """Run one phase in a fresh (spawned) generator process, keeping this event loop free."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=generate, args=(phase, send), daemon=True)
    process.start()
    send.close()
    try:
        load: Load = await asyncio.to_thread(receive.recv)  # EOFError if the generator died
        return load
    finally:
        if process.is_alive():
            process.terminate()
        process.join()


# ---------------------------------------------------------------- servers under test


def serve_bare() -> None:
    """The bare app: bolt on FastAPI under uvicorn, acking score clicks and doing nothing else."""
    bolt = AsyncApp(
        client=AsyncWebClient(
            token=os.environ.pop("SLACK_BOT_TOKEN"), base_url=os.environ["SLACK_API_URL"]
        ),
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    )

    @bolt.action(re.compile(r"^pulse_score:[1-5]$"))
    async def score(ack: AsyncAck) -> None:
        await ack()

    handler, web = AsyncSlackRequestHandler(bolt), FastAPI()

    @web.post("/slack/events")
    async def events(request: Request) -> Response:
        return await handler.handle(request)

    @web.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    uvicorn.run(web, host="127.0.0.1", port=int(os.environ["TRUSTBOT_PORT"]), log_level="warning")


@contextlib.asynccontextmanager
async def serving(command: list[str], env: dict[str, str], log: Path) -> AsyncIterator[int]:
    """Run a server (stderr to `log`) until it answers /healthz; its pid; stop it on exit."""
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            *command, env=env, cwd=log.parent, stdout=DEVNULL, stderr=stderr
        )
    try:
        health = f"http://127.0.0.1:{env['TRUSTBOT_PORT']}/healthz"
        async with httpx.AsyncClient() as http:
            for _ in range(300):
                if process.returncode is not None:
                    raise RuntimeError(f"{command} exited with {process.returncode}; see {log}")
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(health)).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"{command} did not answer /healthz within 30 s")
        yield process.pid
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()


async def trustbot(*args: str, env: dict[str, str], cwd: Path) -> str:
    """Run `trustbot ARGS` without blocking the emulator; its stdout."""
    command = [str(BIN / "trustbot"), *args]
    process = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=cwd, stdout=PIPE, stderr=PIPE
    )
    try:
        out, err = await process.communicate()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise
    if process.returncode:
        raise RuntimeError(f"trustbot {' '.join(args)} failed: {err.decode()[-2000:]}")
    return out.decode().strip()


@contextlib.asynccontextmanager
async def profiling(path: Path | None, pid: int, seconds: float) -> AsyncIterator[None]:
    """py-spy record the process tree `pid` for `seconds` while the body runs."""
    if path is None:
        yield
        return
    kind = {".svg": "flamegraph", ".json": "speedscope"}.get(path.suffix, "raw")
    command = [str(BIN / "py-spy"), *f"record --subprocesses --rate 100 --pid {pid}".split()]
    command += ["--duration", str(math.ceil(seconds)), "--format", kind, "--output", str(path)]
    process = await asyncio.create_subprocess_exec(*command, stdout=DEVNULL, stderr=PIPE)
    try:
        yield
    except BaseException:
        process.kill()
        await process.wait()
        raise
    _, err = await process.communicate()
    if process.returncode:
        print(f"py-spy failed: {err.decode().strip()[-500:]}")
    elif kind == "raw":
        summarise_profile(path, seconds)


def summarise_profile(path: Path, seconds: float, top: int = 10) -> None:
    """Where the samples are: own time by function and by library; total time by function."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    library: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        own[frames[-1]] += int(count)
        library[(re.findall(r"\(([^/).]+)", frames[-1]) or ["?"])[0]] += int(count)
        total.update(dict.fromkeys(frames, int(count)))
    samples = sum(own.values())
    print(f"profile {path}: {samples} samples over {seconds:g} s (100/s per busy thread)")
    shares = ", ".join(f"{name} {100 * n / samples:.0f}%" for name, n in library.most_common(10))
    print(f"  own, by library: {shares}")
    below_loop = [(frame, n) for frame, n in total.most_common() if n < samples / 2]
    for label, rows in (("own", own.most_common(top)), ("total", below_loop[:top])):
        for frame, count in rows:
            print(f"  {label:5} {100 * count / samples:5.1f}%  {frame}")


# ---------------------------------------------------------------- one target


@dataclass
class Result:
    name: str
    offered: Load  # the open-loop phase
    peak: Load  # the closed-loop phase
    log_lines: list[str]
    mismatches: int | None = None

    @property
    def ack_rate(self) -> float:
        return (self.peak.sent - self.peak.errors) / self.peak.seconds

    @property
    def done_rate(self) -> float:
        return self.peak.done / (self.peak.seconds + self.peak.drain)


async def measure(
    name: str,
    command: list[str],
    env: dict[str, str],
    emulator: SlackEmulator | None,  # None: the server does nothing after the ack
    bodies: Path,
    args: argparse.Namespace,
) -> tuple[Result, int]:
    """Warm-up, offered load, throughput against one server; (result, clicks sent)."""
    env = env | {"TRUSTBOT_PORT": str(free_port())}
    url = f"http://127.0.0.1:{env['TRUSTBOT_PORT']}/slack/events"
    click = 0

    async def phase(pid: int, seconds: float, rate: float = 0, connections: int = 0) -> Load:
        nonlocal click
        calls, secret = len(emulator.calls) if emulator else 0, env["SLACK_SIGNING_SECRET"]
        cpu, began, server_cpu = time.process_time(), time.time(), process_tree_cpu(pid)
        load = await run_load(Phase(url, secret, bodies, click, seconds, rate, connections))
        click += load.sent
        load.done, changed = load.sent - load.errors, load.ended
        while emulator is not None:  # until the work after the acks is done, or stalls
            done = sum(call.method in FOLLOW_UPS for call in emulator.calls[calls:])
            if done != load.done:
                load.done, changed = done, time.time()
            if done >= load.sent - load.errors or time.time() - changed > STALL_SECONDS:
                break
            await asyncio.sleep(0.05)
        load.drain = max(0.0, changed - load.ended)
        load.emulator_cpu = (time.process_time() - cpu) / (time.time() - began)
        load.server_cpu = process_tree_cpu(pid) - server_cpu
        return load

    log = (args.logs or args.workdir) / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    async with serving(command, env, log) as pid:
        await phase(pid, 1, rate=args.rate / 4)
        offered = await phase(pid, args.seconds, rate=args.rate)
        profile = args.profile and args.profile.with_stem(f"{args.profile.stem}-{name}")
        async with profiling(profile if emulator else None, pid, args.seconds):
            peak = await phase(pid, args.seconds, connections=args.connections)
    lines = log.read_text(errors="replace").splitlines()
    print(f"{name} measured", flush=True)
    return Result(name, offered, peak, lines), click


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process `pid` and its children (workers)."""
    tick, total, tree = os.sysconf("SC_CLK_TCK"), 0.0, {pid}
    for process in sorted(
        int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()
    ):
        try:  # fields after the command's closing parenthesis: state, ppid, ..., utime, stime
            fields = Path(f"/proc/{process}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if process in tree or int(fields[1]) in tree:  # a child's pid follows its parent's
            tree.add(process)
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def mismatches(url: str, key: str, people: list[str], clicks: int) -> int:
    """People whose stored score is not the one of their last click (all in the last n)."""
    count = len(people)
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(PulseAnswer.round_id, PulseAnswer.respondent, PulseAnswer.score)
                )
            ).all()
    finally:
        await engine.dispose()
    stored = {respondent: score for _, respondent, score in rows}
    [round_id] = {round_id for round_id, _, _ in rows} or {0}
    expected = {  # each person's answer handle for the round (core/privacy.py)
        round_handle(
            "answer", pseudonym(people[index % count], key=key, platform="slack"), round_id, key=key
        ): score_of(index, count)
        for index in range(max(0, clicks - count), clicks)
    }
    return sum(stored.get(who) != score for who, score in expected.items())


async def empty_tables(url: str) -> str:
    """Delete every trustbot row (the schema stays); the database's name and version."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                await connection.execute(delete(table))
            if url.startswith("sqlite"):
                return f"SQLite {sqlite3.sqlite_version}"
            return f"PostgreSQL {(await connection.execute(text('show server_version'))).scalar()}"
    finally:
        await engine.dispose()


def click_bodies(emulator: SlackEmulator, people: list[str], path: Path) -> Path:
    """Save, for each person, the unsigned body of a click on each score (1-5) of their prompt;
    the generator fills in each click's action_ts when it sends it."""
    payloads, bodies = SlackPayloads(emulator=emulator), []
    for user in people:
        prompt = emulator.messages_in(emulator.dm_channel_for(user))[-1]
        clicks = [
            payloads.block_actions(
                user_id=user,
                message=prompt,
                action_id=f"pulse_score:{score}",
                action_ts=ACTION_TS.decode(),
            )
            for score in range(1, 6)
        ]
        bodies.append([urlencode({"payload": json.dumps(click)}) for click in clicks])
    path.write_text(json.dumps(bodies))
    return path


def free_port() -> int:
    with bind_loopback_socket() as sock:
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------- the run


async def main(args: argparse.Namespace) -> None:
    people = [f"U{index:07d}" for index in range(1, args.people + 1)]
    users = [EmulatedUser(id=user, name=user.lower(), real_name=user) for user in people]
    token, secret = "xoxb-bench-" + secrets.token_hex(8), secrets.token_hex(16)
    key = secrets.token_hex(32)
    facts = [f"{os.cpu_count()} cores", platform.platform(), f"Python {platform.python_version()}"]
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="trustbot-ingest-") as workdir:
        args.workdir = Path(workdir)
        databases = [("postgresql", args.database_url)] if args.database_url else []
        if args.sqlite:
            databases.append(("sqlite", f"sqlite:///{workdir}/ingest.db"))
        serve = [str(BIN / "trustbot"), "serve"]
        if args.workers is not None:
            if "--workers" in await trustbot("serve", "--help", env={**os.environ}, cwd=workdir):
                serve += ["--workers", str(args.workers)]
            else:
                print("note: `trustbot serve` has no --workers option; running it without")
        base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TRUSTBOT_"))}
        for backend, url in databases:
            async with SlackEmulator(bot_token=token, users=users, page_size=1000) as emulator:
                env = base | {
                    "SLACK_BOT_TOKEN": token,
                    "SLACK_SIGNING_SECRET": secret,
                    "SLACK_API_URL": emulator.base_url,
                    "TRUSTBOT_PSEUDONYM_KEY": key,
                    "TRUSTBOT_DATABASE_URL": url,
                    "TRUSTBOT_AUDIENCE": ",".join(people),
                    "TRUSTBOT_LOG_LEVEL": "warning",
                    # The emulator has no rate limit here: send the prompts as fast as it takes.
                    "TRUSTBOT_SEND_RATE": "1000",
                    "TRUSTBOT_SEND_BURST": "200",
                    "TRUSTBOT_SEND_CONCURRENCY": "32",
                    # serve must not prompt anyone of its own accord during the measurement.
                    "TRUSTBOT_PROMPT_SCHEDULE": "4 4 4 4 *",
                    "TRUSTBOT_REMINDER_SCHEDULE": "4 4 4 4 *",
                    "TRUSTBOT_MISFIRE_GRACE": "1s",
                }
                await trustbot("migrate", env=env, cwd=workdir)
                facts.append(await empty_tables(url))
                started = time.perf_counter()
                summary = await trustbot("prompt", "--now", env=env, cwd=workdir)
                print(f"{backend}: {summary} ({time.perf_counter() - started:.1f} s)", flush=True)
                bodies = click_bodies(emulator, people, args.workdir / f"{backend}-clicks.json")
                if not results:
                    bare = [sys.executable, SCRIPT, "--serve-bare"]
                    results.append((await measure("bare", bare, env, None, bodies, args))[0])
                name = f"trustbot-{backend}"
                result, clicks = await measure(name, serve, env, emulator, bodies, args)
                result.mismatches = await mismatches(url, key, people, clicks)
                results.append(result)
    report(results, facts, args)


def report(results: list[Result], facts: list[str], args: argparse.Namespace) -> None:
    def pct(values: list[float], share: float) -> float:
        ordered = sorted(values) or [math.nan]
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    print(f"\nmachine: {'; '.join(facts)}; {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print(
        f"{args.people} people; offered load: {args.rate:g} clicks/s for {args.seconds:g} s; "
        f"max throughput: {args.connections} connections for {args.seconds:g} s"
    )
    print(
        f"{'':19}|{'offered load (open loop)':^45}|{'max throughput (closed loop)':^61}|\n"
        f"{'target':19}|  sent p50 ms p99 ms max ms  err lag ms drain s"
        f"| ack/s  err done/s drain s vs bare gen cpu emu cpu srv ms| mismatch ERROR locked"
    )
    for r in results:
        o, p, lines = r.offered, r.peak, r.log_lines
        print(
            f"{r.name:19}|{o.sent:6} {pct(o.latencies, 0.5):6.1f} {pct(o.latencies, 0.99):6.1f} "
            f"{max(o.latencies, default=math.nan):6.1f} {o.errors:4} {o.lag_ms:6.1f} "
            f"{o.drain:7.2f}|{r.ack_rate:6.0f} {p.errors:4} {r.done_rate:6.0f} {p.drain:7.2f} "
            f"{r.done_rate / results[0].ack_rate:7.2f} {p.cpu:7.0%} {p.emulator_cpu:7.0%} "
            f"{1000 * p.server_cpu / max(p.done, 1):6.2f}|"
            f"{'-' if r.mismatches is None else r.mismatches:>9} "
            f"{sum(' ERROR ' in line for line in lines):5} "
            f"{sum('database is locked' in line for line in lines):6}"
        )
    for r in results:
        for load in (r.offered, r.peak):
            if load.first_error:
                print(f"{r.name}: {load.errors} errors, the first: {load.first_error[:200]}")
            if load.done < load.sent - load.errors:
                print(f"{r.name}: only {load.done} of {load.sent - load.errors} clicks processed")
        logged = Counter(
            re.sub(r".* ERROR +", "ERROR ", line)
            for line in r.log_lines
            if " ERROR " in line or re.match(r"[\w.]+(Error|Exception)\b", line)
        )
        for line, count in logged.most_common(4):
            print(f"{r.name} log: {count} x {line[:160]}")
    print("targets: p99 <= 100 ms at 200 clicks/s, vs bare >= 0.50, 0 errors")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE, help="'' skips PostgreSQL")
    parser.add_argument("--sqlite", action="store_true", help="also run on a temp SQLite file")
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200, help="offered load, clicks/s")
    parser.add_argument("--seconds", type=float, default=10, help="length of each load phase")
    parser.add_argument("--connections", type=int, default=16, help="in flight, throughput phase")
    parser.add_argument("--workers", type=int, default=None, help="trustbot serve --workers N")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy output file")
    parser.add_argument("--logs", type=Path, default=None, help="keep the servers' logs here")
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve_bare:
        serve_bare()
    elif not (arguments.database_url or arguments.sqlite):
        parser.error("nothing to measure: give --database-url or --sqlite")
    else:
        try:
            asyncio.run(main(arguments))
        except KeyboardInterrupt:
            sys.exit(130)
