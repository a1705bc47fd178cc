"""After data is deleted: leave no copy of it where a file copy of the database would find it.

* SQLite: every connection runs with `PRAGMA secure_delete=ON` (db/session.py), so deleted rows
  are overwritten with zeros in the database file; but the write-ahead log (the `-wal` file
  beside it) still holds the pages as they were before, until a checkpoint copies them back
  and truncates it. `scrub` checkpoints with TRUNCATE, leaving the `-wal` file empty.
* PostgreSQL: a DELETE (or UPDATE) leaves the old row in the table's file as a dead row. Plain
  VACUUM makes its space reusable, but the bytes can stay in the page's free space until
  something overwrites them (seen with pageinspect: a deleted story's text was still in the
  page after VACUUM). `scrub` runs VACUUM FULL on the tables just changed, which writes them
  anew, without dead rows, into new files. A dead row that an older open snapshot may still
  read is copied too, so `scrub` first waits (up to SNAPSHOT_WAIT_S) for every session of the
  database that began before the deletion committed to move on, and says so when one does
  not. It takes an exclusive lock for the rewrite (a
  fraction of a second per 100,000 rows: clicks wait, none fail), so it waits at most
  LOCK_TIMEOUT for that lock and otherwise falls back to plain VACUUM. VACUUM must run outside
  a transaction: it runs on its own connection in autocommit, after the change committed.

A failure is logged and not raised: the change itself is done; the next scrub (the next close,
purge or forget) or the database's own autovacuum and checkpoints catch up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from trustbot.db.errors import describe_database_error

logger = logging.getLogger(__name__)
LOCK_TIMEOUT = "5s"  # how long VACUUM FULL waits for its exclusive lock
SNAPSHOT_WAIT_S = 30.0  # how long to wait for transactions older than the deletion to end
SNAPSHOT_POLL_S = 0.05


async def scrub(engine: AsyncEngine, tables: Iterable[str]) -> bool:
    """Checkpoint SQLite's log, or VACUUM these PostgreSQL tables; whether it fully worked."""
    names = sorted(set(tables))
    try:
        async with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                return await connection.run_sync(_checkpoint)
            if not names:
                return True
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            quoted = ", ".join(connection.dialect.identifier_preparer.quote(n) for n in names)
            snapshots_gone = await _older_snapshots_gone(autocommit)
            if not snapshots_gone:
                logger.warning(
                    "a transaction older than the deletion is still open: its rows may stay in "
                    "the table files until the next clean-up"
                )
            await autocommit.exec_driver_sql(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
            try:
                await autocommit.exec_driver_sql(f"VACUUM FULL {quoted}")
                return snapshots_gone  # the rewrite kept what an older snapshot could read
            except SQLAlchemyError as error:
                logger.warning(
                    "could not rewrite tables without their deleted rows (%s): vacuuming",
                    describe_database_error(error),
                )
                await autocommit.exec_driver_sql(f"VACUUM {quoted}")
                return False
            finally:  # the connection goes back to the pool
                await autocommit.exec_driver_sql("RESET lock_timeout")
    except SQLAlchemyError as error:
        logger.warning("could not clean up deleted rows: %s", describe_database_error(error))
        return False


async def _older_snapshots_gone(connection: AsyncConnection) -> bool:
    """Wait (up to SNAPSHOT_WAIT_S) until no other session of this database still sees the
    rows just deleted: VACUUM FULL copies a dead row that some open snapshot may still read,
    so it would keep it. A transaction id taken now is newer than the committed deletion; a
    session whose oldest snapshot (backend_xmin) is not older than it sees the deletion."""
    # The 32-bit xid of a transaction id taken now (pg_current_xact_id is 64-bit, with epoch).
    marker = await connection.scalar(
        text("SELECT (pg_current_xact_id()::text::bigint % 4294967296)::text")
    )
    older = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND backend_xmin IS NOT NULL "
        "AND age(backend_xmin) > age(CAST(:marker AS xid))"
    )
    deadline = time.monotonic() + SNAPSHOT_WAIT_S
    while await connection.scalar(older, {"marker": marker}):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(SNAPSHOT_POLL_S)
    return True


def _checkpoint(connection: Connection) -> bool:
    # On the driver's connection, outside any transaction (a checkpoint cannot run in one).
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        row = cursor.fetchone()
        busy = bool(row and row[0])
    finally:
        cursor.close()
    if busy:
        logger.warning("the SQLite log could not be emptied (readers were active); it will be")
    return not busy
