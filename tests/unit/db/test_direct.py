"""db/direct.py: the click's statement on psycopg_pool (PostgreSQL only)."""

from __future__ import annotations

import enum

import pytest
from sqlalchemy import Enum, Integer, bindparam, text
from sqlalchemy.exc import DBAPIError

from trustbot.db.direct import DirectStatements


class Colour(enum.Enum):
    RED = "red"


async def test_a_statement_runs_with_its_fixed_values_converted(postgresql_database: str) -> None:
    fixed = bindparam("colour", Colour.RED, type_=Enum(Colour, native_enum=False))
    statement = text("SELECT CAST(:colour AS text), :number + 1").bindparams(
        fixed, bindparam("number", type_=Integer)
    )
    direct = DirectStatements(postgresql_database)
    try:
        assert await direct.first(statement, {"number": 41}) == ("RED", 42)
        assert await direct.first(statement, {"number": 1}) == ("RED", 2)  # compiled once
        assert await direct.first(text("SELECT 1 WHERE false"), {}) is None
    finally:
        await direct.close()


async def test_a_caller_value_needing_conversion_is_refused(postgresql_database: str) -> None:
    statement = text("SELECT CAST(:colour AS text)").bindparams(
        bindparam("colour", type_=Enum(Colour, native_enum=False))
    )
    direct = DirectStatements(postgresql_database)
    try:
        with pytest.raises(TypeError, match="'colour'"):
            await direct.first(statement, {"colour": Colour.RED})
    finally:
        await direct.close()


async def test_a_database_error_is_sqlalchemys_without_parameters(postgresql_database: str) -> None:
    direct = DirectStatements(postgresql_database)
    try:
        with pytest.raises(DBAPIError) as raised:
            await direct.first(text("SELECT 1 / :zero"), {"zero": 0})
    finally:
        await direct.close()
    assert "division by zero" in str(raised.value.orig)
    assert "{'zero': 0}" not in str(raised.value)


async def test_an_unreachable_database_fails_after_the_timeout() -> None:
    direct = DirectStatements("postgresql://postgres@127.0.0.1:9/trustbot", timeout=0.5)
    try:
        with pytest.raises(DBAPIError, match="PoolTimeout"):
            await direct.first(text("SELECT 1"), {})
    finally:
        await direct.close()
