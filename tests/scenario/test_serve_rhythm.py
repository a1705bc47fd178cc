"""`trustbot serve` as real processes with nothing but the environment: the start-up catch-up
sends a just-missed prompt and digest once across restarts; on PostgreSQL one of two processes
leads the scheduler and the other takes over when it is killed; on SQLite a second `serve` is
refused.

No test clock reaches into a real process, so the prompt and digest schedules name the minute
the test starts in: at start-up that run, at most a minute old, is a miss within the grace, and
the next one is a day away.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import TEST_KEY
from tests.scenario.processes import base_env, poll_until, start_serve, trustbot
from trustbot.core.periods import period_of
from trustbot.db.models import Delivery, DeliveryStatus, Lease, Round
from trustbot.devtools.emulator import EmulatedUser, SlackEmulator
from trustbot.devtools.loopback import bind_loopback_socket
from trustbot.scheduler.leader import ADVISORY_LOCK_KEY

pytestmark = pytest.mark.slow  # serve processes, restarted and SIGKILLed: runs in `make test-all`

TOKEN, SECRET = "xoxb-serve-rhythm-token-9", "serve-rhythm-signing-secret-9"
PEOPLE = [f"U0SRV{index:02d}" for index in range(1, 6)]
LEADERSHIP = ["C0LEADS", "C0BOARD"]
TAKEOVER_DEADLINE_S = 90.0
CPH = ZoneInfo("Europe/Copenhagen")


def free_port() -> int:
    with bind_loopback_socket() as sock:
        return int(sock.getsockname()[1])


class Serve:
    """A running `trustbot serve` whose log lines are collected as they come."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._news = asyncio.Condition()  # notified on each line, and when stderr closes
        self._closed = False
        assert process.stderr is not None
        self._reader = asyncio.create_task(self._read(process.stderr))

    @classmethod
    async def start(cls, env: dict[str, str], cwd: Path) -> Serve:
        return cls(await start_serve(env, cwd=cwd, port=int(env["TRUSTBOT_PORT"])))

    @property
    def holder(self) -> str:
        """How this process names itself as the scheduler's leader."""
        return f"{socket.gethostname()}:{self.process.pid}"

    async def _read(self, stream: asyncio.StreamReader) -> None:
        try:
            async for line in stream:
                async with self._news:
                    self.lines.append(line.decode(errors="replace").rstrip())
                    self._news.notify_all()
        finally:
            async with self._news:
                self._closed = True  # the process is ending: no more lines will come
                self._news.notify_all()

    async def wait_for_line(self, fragment: str, timeout_s: float = 30.0) -> None:
        def seen() -> bool:
            return any(fragment in line for line in self.lines)

        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s), self._news:
                await self._news.wait_for(lambda: seen() or self._closed)
        if not seen():
            tail = "\n".join(self.lines[-20:])
            raise AssertionError(f"no log line with {fragment!r}; last lines:\n{tail}")

    async def stop(self, signum: int = signal.SIGTERM) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signum)
        code = await self.process.wait()
        await self._reader
        return code


@pytest.fixture
async def serves() -> AsyncIterator[list[Serve]]:
    """The serve processes a test starts; any still running are stopped at the end."""
    started: list[Serve] = []
    yield started
    for serve in started:
        await serve.stop(signal.SIGKILL)


@pytest.fixture
async def emulator() -> AsyncIterator[SlackEmulator]:
    users = [EmulatedUser(id=user, name=user.lower(), real_name=user) for user in PEOPLE]
    channels = {channel: PEOPLE[:1] for channel in LEADERSHIP}
    async with SlackEmulator(bot_token=TOKEN, users=users, channels=channels) as emulator:
        yield emulator


def serve_env(database_url: str, emulator: SlackEmulator, **values: str) -> dict[str, str]:
    return base_env(
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=emulator.base_url,
        TRUSTBOT_PSEUDONYM_KEY=TEST_KEY,
        TRUSTBOT_DATABASE_URL=database_url,
        TRUSTBOT_AUDIENCE=",".join(PEOPLE),
        TRUSTBOT_LANGUAGE="en",
        TRUSTBOT_PORT=str(free_port()),
        **values,
    )


async def test_serve_alone_catches_up_the_prompt_and_digest_once_across_restarts(
    engine: AsyncEngine,
    database_url: str,
    emulator: SlackEmulator,
    tmp_path: Path,
    serves: list[Serve],
) -> None:
    now = datetime.now(UTC).astimezone(CPH)
    this_minute = f"{now.minute} {now.hour} * * *"  # fired at most a minute ago, today
    env = serve_env(
        database_url,
        emulator,
        TRUSTBOT_PROMPT_SCHEDULE=this_minute,
        TRUSTBOT_DIGEST_SCHEDULE=this_minute,
        TRUSTBOT_MISFIRE_GRACE="6h",
        TRUSTBOT_LEADERSHIP_CHANNELS=",".join(LEADERSHIP),
    )
    period = period_of(now, CPH)

    async def all_sent() -> bool:
        async with engine.connect() as connection:
            statuses = (await connection.execute(select(Delivery.status))).scalars().all()
        return len(statuses) == len(PEOPLE) + len(LEADERSHIP) and set(statuses) == {
            DeliveryStatus.SENT
        }

    first = await Serve.start(env, tmp_path)
    serves.append(first)
    await first.wait_for_line("catch-up done: prompt, digest")
    await poll_until(all_sent, "every prompt and digest sent")
    assert {user: len(emulator.messages_in(user)) for user in PEOPLE} == dict.fromkeys(PEOPLE, 1)
    digests = {channel: len(emulator.messages_in(channel)) for channel in LEADERSHIP}
    assert all(count >= 1 for count in digests.values()), digests

    code, out, err = await trustbot("status", env=env, cwd=tmp_path)
    assert code == 0, err
    assert f"{period}: round open, rule 1" in out
    assert f"prompts: {len(PEOPLE)} sent" in out
    assert f"digests: {len(LEADERSHIP)} sent" in out
    assert f"scheduler: led by {first.holder}" in out

    # Restarted (the unit tests restart twice): nothing runs again.
    # A clean shutdown on SIGTERM exits 0 (uvicorn alone would raise the signal again: 143).
    assert await first.stop() == 0
    assert not any("Traceback" in line for line in first.lines)
    again = await Serve.start(env, tmp_path)
    serves.append(again)
    await again.wait_for_line("catch-up done: nothing was missed")
    assert {user: len(emulator.messages_in(user)) for user in PEOPLE} == dict.fromkeys(PEOPLE, 1)
    assert {channel: len(emulator.messages_in(channel)) for channel in LEADERSHIP} == digests
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(Round)) == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_on_postgresql_one_serve_leads_and_another_takes_over_when_it_dies(
    engine: AsyncEngine,
    database_url: str,
    emulator: SlackEmulator,
    tmp_path: Path,
    serves: list[Serve],
) -> None:
    async def leader() -> str | None:
        async with engine.connect() as connection:
            lease = await connection.scalar(select(Lease.holder))
        return lease

    async def advisory_locks_held() -> int:
        async with engine.connect() as connection:
            held = await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = "
                    "current_database()) AND ((classid::bigint << 32) | objid::bigint) = :key"
                ),
                {"key": ADVISORY_LOCK_KEY},
            )
        return int(held or 0)

    first = await Serve.start(
        serve_env(database_url, emulator, TRUSTBOT_LEADER_RETRY="1s"), tmp_path
    )
    serves.append(first)
    await first.wait_for_line("this process leads the scheduler")
    second, (code, out, err) = await asyncio.gather(
        Serve.start(serve_env(database_url, emulator, TRUSTBOT_LEADER_RETRY="1s"), tmp_path),
        trustbot("status", env=serve_env(database_url, emulator), cwd=tmp_path),
    )
    serves.append(second)
    await second.wait_for_line("another process leads the scheduler; this one")
    standby_at = len(second.lines)

    assert await leader() == first.holder
    assert await advisory_locks_held() == 1
    assert code == 0, err
    assert f"scheduler: led by {first.holder}, last seen" in out
    assert "(running)" in out  # asked of the lock itself, not the heartbeat

    await first.stop(signal.SIGKILL)

    async def second_leads() -> bool:
        return await leader() == second.holder

    took = await poll_until(second_leads, "the second serve to take over", TAKEOVER_DEADLINE_S)
    print(f"the standby took over {took:.1f} s after the leader was killed")
    await second.wait_for_line("this process leads the scheduler")
    assert await advisory_locks_held() == 1
    assert not any("this process leads" in line for line in second.lines[:standby_at])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_on_sqlite_a_second_serve_is_refused_with_one_line(
    engine: AsyncEngine,
    database_url: str,
    emulator: SlackEmulator,
    tmp_path: Path,
    serves: list[Serve],
) -> None:
    del engine
    first = await Serve.start(serve_env(database_url, emulator), tmp_path)
    serves.append(first)

    code, out, err = await trustbot("serve", env=serve_env(database_url, emulator), cwd=tmp_path)

    assert code == 1
    assert err.strip().splitlines() == [
        f"TRUSTBOT_DATABASE_URL: another trustbot serve ({first.holder}) is using this SQLite "
        "database; SQLite supports one process (use PostgreSQL to run several)"
    ]
    assert "Traceback" not in out + err
    assert first.process.returncode is None  # the first one goes on


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_port_in_use_stops_serve_with_one_line_before_any_work(
    engine: AsyncEngine, database_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    del engine
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = serve_env(database_url, emulator) | {"TRUSTBOT_PORT": str(port)}
        code, out, err = await trustbot("serve", env=env, cwd=tmp_path)

    assert code == 2, out + err
    assert err.strip().splitlines()[-1] == (
        f"TRUSTBOT_PORT: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
    assert "Traceback" not in err
    assert emulator.call_counts["chat.postMessage"] == 0  # nothing was sent: no work began
