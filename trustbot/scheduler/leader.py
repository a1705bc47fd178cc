"""Who runs the scheduler when several `trustbot serve` processes share a database.

On PostgreSQL exactly one process holds a session-level advisory lock and runs the scheduler;
the others try again every TRUSTBOT_LEADER_RETRY (15 seconds by default), so if the leader dies
(its connection closes and the server releases the lock) another takes over well within a
minute. Every process drains the
outbox either way. On SQLite one process is supported: `serve` holds an exclusive lock on a file
beside the database and is always the leader; a second `serve` is refused.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from trustbot.core.services import Services
from trustbot.db.errors import describe_database_error
from trustbot.db.models import Lease
from trustbot.db.upsert import upsert

logger = logging.getLogger(__name__)

ADVISORY_LOCK_KEY = 0x7275_7374_626F_74  # "rustbot": any constant shared by every process
RETRY_S = 15.0
HEARTBEAT_S = 10.0
LEASE = "scheduler"

Callback = Callable[[], Awaitable[None]]


def holder_name() -> str:
    """How `trustbot status` names this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def record_lease(services: Services, *, holder: str, now: datetime) -> None:
    """Say in the database who leads the scheduler, and that it is alive."""
    async with services.transaction() as session:
        await upsert(
            session,
            Lease,
            key=Lease.name,
            values={"name": LEASE, "holder": holder, "heartbeat_at": now},
            update=("holder", "heartbeat_at"),
        )


async def lead_with_advisory_lock(
    engine: AsyncEngine,
    services: Services,
    stop: asyncio.Event,
    *,
    on_elected: Callback,
    on_deposed: Callback,
    retry_s: float = RETRY_S,
    heartbeat_s: float = HEARTBEAT_S,
) -> None:
    """Run `on_elected` while this process holds the advisory lock, until `stop`."""
    holder = holder_name()
    standing_by = False
    while not stop.is_set():
        leading = False
        try:
            async with engine.connect() as connection:
                got = await connection.scalar(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
                )
                await connection.commit()  # the lock belongs to the session, not the transaction
                if not got and not standing_by:
                    standing_by = True
                    logger.info(
                        "another process leads the scheduler; this one (%s) stands by and "
                        "sends from the outbox",
                        holder,
                    )
                if got:
                    leading, standing_by = True, False
                    logger.info("this process leads the scheduler (%s)", holder)
                    await record_lease(services, holder=holder, now=services.now())
                    await on_elected()
                    while not stop.is_set():
                        if await _wait(stop, heartbeat_s):
                            break
                        await connection.scalar(text("SELECT 1"))  # the lock lives as long as this
                        await connection.commit()
                        await record_lease(services, holder=holder, now=services.now())
                    await connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY}
                    )
                    await connection.commit()
        except (SQLAlchemyError, OSError) as error:
            logger.error(
                "scheduler leadership lost: %s",
                describe_database_error(error) if isinstance(error, SQLAlchemyError) else error,
            )
        finally:
            if leading:
                await on_deposed()
        if not stop.is_set():
            await _wait(stop, retry_s)


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to `seconds`; True if `stop` was set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True


class SingleProcessLock:
    """An exclusive lock on `<database>.lock`: one `trustbot serve` per SQLite database."""

    def __init__(self, database_url: str) -> None:
        database = make_url(database_url).database or ""
        self.path = Path(f"{database}.lock") if database and database != ":memory:" else None
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock, or raise AnotherProcessError naming the holder."""
        if self.path is None:
            return
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise AnotherProcessError(
                f"TRUSTBOT_DATABASE_URL: another trustbot serve ({holder}) is using this SQLite "
                "database; SQLite supports one process (use PostgreSQL to run several)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(holder_name())
        handle.flush()
        self._file = handle

    def release(self) -> None:
        """Let go of the lock."""
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class AnotherProcessError(Exception):
    """A second `serve` on a SQLite database."""
