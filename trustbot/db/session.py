"""Engine and session factories; the async driver is chosen from the URL users write.

SQLite allows one writer at a time. A transaction that reads first and writes later (SQLite's
default, deferred) cannot wait for the write lock in WAL mode: it fails at once with "database is
locked", whatever the busy timeout. So write transactions begin with `BEGIN IMMEDIATE`, which
takes the lock up front and queues behind the busy timeout; reads stay deferred and never block.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_BUSY_TIMEOUT_S = 15
# Execution option read by the SQLite "begin" hook: how a transaction begins.
_SQLITE_BEGIN = "trustbot_sqlite_begin"
# Enough connections for the listeners' bounded background work plus the sender and reports.
# No overflow: under a burst, an overflow connection was opened for one statement and closed
# again at once (a PostgreSQL backend started and stopped each time); work waits for a pooled
# one instead. With db/direct.py's 4, a process holds at most 20 connections, so
# `serve --workers 4` stays inside PostgreSQL's default max_connections (100).
POOL_SIZE, POOL_OVERFLOW = 16, 0


def async_url(database_url: str) -> URL:
    """`sqlite:///x.db` / `postgresql://…` as users write them, with the async driver set."""
    url = make_url(database_url.replace("postgres://", "postgresql://", 1))
    if url.get_backend_name() == "sqlite":
        return url.set(drivername="sqlite+aiosqlite")
    if url.get_backend_name() == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    raise ValueError(f"unsupported database backend {url.get_backend_name()!r}")


def create_engine(database_url: str) -> AsyncEngine:
    """An async engine for the URL; SQLite gets foreign keys, WAL and explicit BEGINs.

    `hide_parameters` keeps bound values (a pseudonym next to a score) out of the messages of
    database errors, which end up in logs.
    """
    url = async_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}, hide_parameters=True
        )
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    # No pool_pre_ping: it would cost a round trip on every checkout. A connection broken by a
    # server restart fails once, and SQLAlchemy then invalidates the whole pool.
    return create_async_engine(
        url,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_recycle=1800,
        hide_parameters=True,
    )


def _sqlite_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # The driver's own transaction handling is off (isolation_level None): _sqlite_begin
    # emits BEGIN itself, so that a write transaction can ask for the lock up front.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # A deleted row is overwritten with zeros in the file, not left in a free page or slot
    # where a copy of the file would still show it (a forgotten story, a purged answer).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # With WAL, NORMAL syncs at checkpoints instead of on every commit: a crash of trustbot
    # loses nothing, a power cut may lose the last commits, and the file is never corrupted.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(_SQLITE_BEGIN, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for reading; loaded objects stay usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def create_write_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for transactions that write: on SQLite they take the write lock up front."""
    writer = engine.execution_options(**{_SQLITE_BEGIN: "IMMEDIATE"})
    return async_sessionmaker(writer, expire_on_commit=False)
