"""Running the `trustbot` command as a real process, and reading what it stored."""

from __future__ import annotations

import asyncio
import os
import sys
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


def base_env(**values: str) -> dict[str, str]:
    """The parent environment without SLACK_*/TRUSTBOT_* variables, plus `values`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SLACK_", "TRUSTBOT_"))
    }
    env.update(values)
    return env


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
