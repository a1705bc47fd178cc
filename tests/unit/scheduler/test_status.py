"""`trustbot status` asks the lock, not the heartbeat's age, whether the scheduler's process
runs: a process that died is "not running" at once, not "alive" for another minute."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from trustbot.db.session import create_engine
from trustbot.scheduler.leader import ADVISORY_LOCK_KEY, SingleProcessLock, leader_running


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_on_postgresql_the_leader_runs_while_its_session_holds_the_lock(
    engine: AsyncEngine, database_url: str
) -> None:
    assert not await leader_running(engine, database_url)
    leader = create_engine(database_url)
    try:
        async with leader.connect() as connection:
            await connection.execute(
                text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
            await connection.commit()
            assert await leader_running(engine, database_url)
            await connection.invalidate()  # its process is gone: the server ends the session
    finally:
        await leader.dispose()
    assert not await leader_running(engine, database_url)


async def test_on_sqlite_the_leader_runs_while_it_holds_the_lock_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/trustbot.db"
    engine = create_engine(url)
    try:
        assert not await leader_running(engine, url)  # no lock file yet
        serve = SingleProcessLock(url)
        serve.acquire()
        assert await leader_running(engine, url)
        serve.release()  # as the kernel does when its process dies
        assert not await leader_running(engine, url)
    finally:
        await engine.dispose()
