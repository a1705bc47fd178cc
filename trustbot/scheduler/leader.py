"""Who runs the scheduler when several `trustbot serve` processes share a database.

On PostgreSQL exactly one process holds a session-level advisory lock, on a connection of its
own outside the pool, and runs the scheduler; the others try again every TRUSTBOT_LEADER_RETRY
(15 seconds by default), so if the leader dies (its connection closes and the server releases
the lock) or fails in any way (the connection is closed), another takes over within that time.
Every process drains the outbox either way. On SQLite one process is supported: `serve` holds an
exclusive lock on a file beside the database and is always the leader; a second `serve` is
refused.
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
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from trustbot.core.services import Services
from trustbot.db.errors import describe_database_error
from trustbot.db.models import Lease
from trustbot.db.upsert import upsert
from trustbot.supervision import wait_or_stop

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
    """Run `on_elected` while this process holds the advisory lock, until `stop`.

    The lock is taken on a connection of its own, outside the pool, opened for each try and
    closed after it on every path: the lock belongs to that database session, so closing the
    connection releases it. A pooled connection would go back to the pool still holding the
    lock when anything after `pg_try_advisory_lock` failed (a ROLLBACK does not release a
    session lock): nobody could lead until the pool recycled it, and this process could take
    it a second time on the same session (a count of 2 that one unlock does not undo).
    """
    holder = holder_name()
    # NullPool: a connection "returned" is closed at once, so the server ends its session.
    dedicated = create_async_engine(engine.url, poolclass=NullPool, hide_parameters=True)
    standing_by = False
    try:
        while not stop.is_set():
            standing_by = await _lead_once(
                dedicated,
                services,
                stop,
                holder=holder,
                standing_by=standing_by,
                on_elected=on_elected,
                on_deposed=on_deposed,
                heartbeat_s=heartbeat_s,
            )
            if not stop.is_set():
                await wait_or_stop(stop, retry_s)
    finally:
        await dedicated.dispose()


async def _lead_once(
    dedicated: AsyncEngine,
    services: Services,
    stop: asyncio.Event,
    *,
    holder: str,
    standing_by: bool,
    on_elected: Callback,
    on_deposed: Callback,
    heartbeat_s: float,
) -> bool:
    """One try at the lock, leading until `stop` if it is got; whether this process stands by."""
    leading = False
    try:
        async with dedicated.connect() as connection:
            got = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
            await connection.commit()  # the lock belongs to the session, not the transaction
            if not got:
                if not standing_by:
                    logger.info(
                        "another process leads the scheduler; this one (%s) stands by and "
                        "sends from the outbox",
                        holder,
                    )
                return True
            leading = True
            logger.info("this process leads the scheduler (%s)", holder)
            await record_lease(services, holder=holder, now=services.now())
            await on_elected()
            while not await wait_or_stop(stop, heartbeat_s):
                # The lock lives as long as this connection: a failed round trip here means it
                # may be gone, and this process stops leading.
                await connection.scalar(text("SELECT 1"))
                await connection.commit()
                await record_lease(services, holder=holder, now=services.now())
            await unlock(connection)
    except (SQLAlchemyError, OSError) as error:
        logger.error(
            "scheduler leadership lost: %s",
            describe_database_error(error) if isinstance(error, SQLAlchemyError) else error,
        )
    finally:
        # The connection is closed by now (whatever happened), and the lock released with it.
        if leading:
            await on_deposed()
    return False


async def unlock(connection: AsyncConnection) -> None:
    """Let go of the lock before closing (closing alone would also release it)."""
    await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
    await connection.commit()


async def lock_is_held(engine: AsyncEngine) -> bool:
    """Whether some process holds the scheduler's advisory lock now (for `trustbot status`)."""
    high, low = divmod(ADVISORY_LOCK_KEY, 1 << 32)
    async with engine.connect() as connection:
        held = await connection.scalar(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND classid = CAST(:high AS oid) AND objid = CAST(:low AS oid) AND objsubid = 1"
            ),
            {"high": high, "low": low},
        )
    return bool(held)


async def leader_running(engine: AsyncEngine, database_url: str) -> bool:
    """Whether a `serve` process leads the scheduler now: on PostgreSQL, whether the advisory
    lock is held; on SQLite, whether the lock file beside the database is."""
    if engine.dialect.name == "postgresql":
        return await lock_is_held(engine)
    return SingleProcessLock(database_url).held_elsewhere()


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

    def held_elsewhere(self) -> bool:
        """Whether another process holds the lock now (a `serve` is running)."""
        if self.path is None or not self.path.exists():
            return False
        with self.path.open("a+", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
        return False

    def release(self) -> None:
        """Let go of the lock."""
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class AnotherProcessError(Exception):
    """A second `serve` on a SQLite database."""
