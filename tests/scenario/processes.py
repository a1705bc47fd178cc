"""Running the `trustbot` command as a real process, and reading what it stored."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import func, select

from trustbot.db.models import PulseAnswer
from trustbot.db.session import create_engine

COMMAND_TIMEOUT = 60


async def trustbot(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """Run `python -m trustbot ARGS`; (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "trustbot",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(COMMAND_TIMEOUT):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


# A `serve` started by a test must not send prompts of its own unless the test asks: these
# schedules fire only at 04:04 on 4 April (29 February, which never fires, is refused), and a
# missed run is never caught up.
QUIET_RHYTHM = {
    "TRUSTBOT_PROMPT_SCHEDULE": "4 4 4 4 *",
    "TRUSTBOT_REMINDER_SCHEDULE": "4 4 4 4 *",
    "TRUSTBOT_DIGEST_SCHEDULE": "4 4 4 4 *",
    "TRUSTBOT_MISFIRE_GRACE": "1s",
}


def base_env(**values: str) -> dict[str, str]:
    """The parent environment without SLACK_*/TRUSTBOT_* variables, a quiet rhythm, `values`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SLACK_", "TRUSTBOT_"))
    }
    env.update(QUIET_RHYTHM)
    env.update(values)
    return env


async def poll_until(
    condition: Callable[[], Awaitable[object]], what: str, timeout_s: float = 30.0
) -> float:
    """Await `condition()` until it is truthy, looking again every 0.1 s; the seconds it took.

    For what another process does to the database, which sends no event to wait on; AssertionError
    naming `what` after `timeout_s`.
    """
    started = time.monotonic()
    while not await condition():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def score_counts(database_url: str) -> list[tuple[int, int]]:
    """(score, how many answers) in the database, through a fresh engine."""
    check = create_engine(database_url)
    try:
        async with check.connect() as connection:
            rows = (
                await connection.execute(
                    select(PulseAnswer.score, func.count())
                    .group_by(PulseAnswer.score)
                    .order_by(PulseAnswer.score)
                )
            ).all()
    finally:
        await check.dispose()
    return [(score, count) for score, count in rows]


async def start_serve(
    env: dict[str, str], *, cwd: Path, port: int, options: tuple[str, ...] = ()
) -> asyncio.subprocess.Process:
    """`trustbot serve` as a real process, returned once /readyz answers (stderr piped)."""
    import httpx

    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "trustbot",
        "serve",
        *options,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    async with httpx.AsyncClient() as http:
        for _ in range(400):
            try:
                if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            if server.returncode is not None:
                break
            await asyncio.sleep(0.05)
    server.terminate()
    _, err = await server.communicate()
    raise AssertionError(f"trustbot serve did not come up: {err.decode()[-2000:]}")
