"""The score click's one statement, run straight on psycopg's own pool (PostgreSQL only).

A score click is the hottest path in the bot, and its database work is one statement in
autocommit. Through SQLAlchemy's async engine that statement cost about three times the CPU of
the statement itself: the pool checkout and checkin, switching the connection to autocommit and
back, and the greenlet bridge around each driver call (measured in docs/benchmarks.md; decision
32). psycopg_pool, the driver's own pool, keeps a few connections that are always in autocommit
and hands them out cheaply; the statement is still built and compiled by SQLAlchemy, once.

Errors are raised as SQLAlchemy's DBAPIError, like every other database error in trustbot, so
callers handle one kind and logs describe it the same way (without the SQL or its parameters).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import TextualSelect

# What compiled_once (db/upsert.py) makes of a statement.
type Statement = TextClause | TextualSelect

# Few connections suffice: a statement holds one for well under a millisecond.
DIRECT_POOL_SIZE = 4
# How long a statement waits for a connection (the database down, or every connection busy)
# before it fails, and the person is told their answer was not saved.
DIRECT_CONNECT_TIMEOUT_S = 5.0


class DirectStatements:
    """A small pool of autocommit psycopg connections running precompiled statements."""

    def __init__(
        self,
        database_url: str,
        *,
        size: int = DIRECT_POOL_SIZE,
        timeout: float = DIRECT_CONNECT_TIMEOUT_S,
    ) -> None:
        url = make_url(database_url.replace("postgres://", "postgresql://", 1))
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._pool = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=size,
            timeout=timeout,
            kwargs={"autocommit": True},
            open=False,
            name="trustbot-direct",
        )
        self._dialect = PGDialect_psycopg()  # type: ignore[no-untyped-call]
        self._compiled: dict[int, tuple[Statement, str, dict[str, Any]]] = {}

    async def first(
        self, statement: Statement, parameters: Mapping[str, Any]
    ) -> Sequence[Any] | None:
        """Run `statement` by itself (it commits on its own); its first row, if any."""
        sql, fixed = self._compile(statement)
        try:
            if self._pool.closed:  # opened on first use; open() is idempotent and locked
                await self._pool.open(wait=False)
            async with self._pool.connection() as connection:
                cursor = await connection.execute(sql, {**fixed, **parameters}, prepare=True)
                return await cursor.fetchone()
        except psycopg.Error as error:
            raise DBAPIError.instance(
                sql, None, error, psycopg.Error, hide_parameters=True, dialect=self._dialect
            ) from error

    async def close(self) -> None:
        """Close the connections (at shutdown); the pool cannot be opened again."""
        await self._pool.close()

    def _compile(self, statement: Statement) -> tuple[str, dict[str, Any]]:
        """The statement's SQL for psycopg, and the values of the parameters fixed in it.

        The compiled form is kept per statement object (they are built once per process), with
        the statement itself, so that its id cannot be reused by another statement.
        """
        cached = self._compiled.get(id(statement))
        if cached is not None and cached[0] is statement:
            return cached[1], cached[2]
        compiled = statement.compile(dialect=self._dialect)
        fixed: dict[str, Any] = {}
        for name, bind in compiled.binds.items():
            process = bind.type.bind_processor(self._dialect)
            if bind.value is not None:
                fixed[name] = process(bind.value) if process else bind.value
            elif process is not None:  # a caller's value would reach psycopg unconverted
                raise TypeError(f"parameter {name!r} of type {bind.type} needs converting")
        self._compiled[id(statement)] = (statement, compiled.string, fixed)
        return compiled.string, fixed
