"""INSERT … ON CONFLICT for the two backends, which SQLAlchemy spells per dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Table, TextClause, bindparam, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute
from sqlalchemy.sql.expression import Executable, TextualSelect


def insert_for(session: AsyncSession, model: type[DeclarativeBase] | Table) -> Any:
    """A dialect insert() for `model` (a mapped class or its table) that supports
    on_conflict_do_update/nothing."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise RuntimeError(f"unsupported database dialect {dialect!r}")


def compiled_once(
    statement: Executable, dialect: str, *returning: ColumnElement[Any] | InstrumentedAttribute[Any]
) -> TextClause | TextualSelect:
    """`statement` compiled once for `dialect`, as a statement SQLAlchemy can cache.

    SQLAlchemy 2.0 never caches the compiled form of a dialect INSERT (postgresql.insert and
    sqlite.insert set inherit_cache = False), so an ON CONFLICT statement is compiled anew on
    every execution: for a score click that was a sixth of the server's CPU. Compiling it once
    into text keeps the construct (and its column names) the single source of truth. Bound
    values fixed in the construct (a literal, an enum) keep their values and types; the others
    stay named parameters, passed at execution.
    """
    dialects = {"postgresql": postgresql.dialect, "sqlite": sqlite.dialect}
    compiled = statement.compile(dialect=dialects[dialect](paramstyle="named"))  # type: ignore[attr-defined]
    binds = [
        bindparam(name, value, type_=compiled.binds[name].type)
        if value is not None
        else bindparam(name, type_=compiled.binds[name].type)
        for name, value in compiled.params.items()
    ]
    clause: TextClause = text(compiled.string).bindparams(*binds)
    return clause.columns(*returning) if returning else clause


async def upsert(
    session: AsyncSession,
    model: type[DeclarativeBase],
    *,
    key: InstrumentedAttribute[Any],
    values: dict[str, Any],
    update: tuple[str, ...],
) -> None:
    """Insert a row of `model` with `values`; where its `key` is stored already, set only the
    columns named in `update` from the new values."""
    insert = insert_for(session, model).values(**values)
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=[key], set_={column: insert.excluded[column] for column in update}
        )
    )
