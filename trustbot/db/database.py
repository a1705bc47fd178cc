"""The database as the core uses it: sessions to read, write transactions, one hot statement.

Built by the composition root over its engine; the write lock (SQLite) and the direct pool
(PostgreSQL) are this object's own business, closed by `close()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import TextualSelect

from trustbot.db.direct import DirectStatements
from trustbot.db.session import create_session_factory, create_write_session_factory


class Database:
    """Read sessions, write transactions (one writer at a time on SQLite) and `write_one`."""

    def __init__(self, engine: AsyncEngine, *, direct: DirectStatements | None = None) -> None:
        self.engine = engine
        self.sessions: async_sessionmaker[AsyncSession] = create_session_factory(engine)
        self._writes = create_write_session_factory(engine)
        # SQLite has one writer at a time: this process's writers queue on an asyncio lock, in
        # arrival order, instead of sleeping in SQLite's busy handler (BEGIN IMMEDIATE still
        # guards against other processes).
        self._write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        self._direct = direct  # PostgreSQL: the click's statement on psycopg's own pool

    @classmethod
    def over(cls, engine: AsyncEngine, database_url: str) -> Database:
        """The database over `engine`, with the direct pool on PostgreSQL."""
        postgresql = engine.dialect.name == "postgresql"
        return cls(engine, direct=DirectStatements(database_url) if postgresql else None)

    @property
    def writer(self) -> AsyncEngine:
        """The engine as writers use it (on SQLite each transaction takes the write lock up
        front: BEGIN IMMEDIATE)."""
        bind: AsyncEngine = self._writes.kw["bind"]
        return bind

    @property
    def dialect(self) -> str:
        """The SQLAlchemy dialect name: "sqlite" or "postgresql"."""
        name: str = self.engine.dialect.name
        return name

    async def close(self) -> None:
        """Close the direct pool, if any (the engine is its opener's to dispose of)."""
        if self._direct is not None:
            await self._direct.close()

    async def write_one(
        self, statement: TextClause | TextualSelect, parameters: Mapping[str, Any]
    ) -> Sequence[Any] | None:
        """Run one writing statement by itself (it commits on its own); its first row, if any.

        For the hottest path, a score click. On PostgreSQL it runs on psycopg's own pool
        (db/direct.py); on SQLite it queues for this process's write lock like every write.
        """
        if self._direct is not None:
            return await self._direct.first(statement, parameters)
        async with self.write_connection() as connection:
            row = (await connection.execute(statement, parameters)).first()
        return None if row is None else tuple(row)

    @asynccontextmanager
    async def write_connection(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection in a write transaction (no ORM session); on SQLite it takes the
        write lock up front (BEGIN IMMEDIATE), behind this process's other writers."""
        if self._write_lock is None:
            async with self.writer.begin() as connection:
                yield connection
            return
        async with self._write_lock, self.writer.begin() as connection:
            yield connection

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in a write transaction, committed when the block ends without error."""
        if self._write_lock is None:
            async with self._writes() as session, session.begin():
                yield session
            return
        async with self._write_lock, self._writes() as session, session.begin():
            yield session
