"""Alembic migrations: down and up again, start-up checks, and models matching the schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, String, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import TEST_KEY
from trustbot.core.privacy import AddressSeal, keyed_hash
from trustbot.db import models  # noqa: F401  (registers the tables)
from trustbot.db.base import Base
from trustbot.db.migrate import (
    MigrationNeedsKeyError,
    SchemaNotCurrentError,
    current_revision,
    downgrade_to,
    ensure_current,
    head_revision,
    migrations_dir,
    upgrade_to_head,
)
from trustbot.db.session import create_engine

TABLES = {
    "installation",
    "rules",
    "rounds",
    "deliveries",
    "pulse_answers",
    "anecdotes",
    "reactions",
    "job_runs",
    "person_settings",
    "leases",
    "round_aggregates",
    "teams_conversations",
}


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    return set(names) - {"alembic_version"}


def test_head_revision_and_directory() -> None:
    assert head_revision() == "0007"
    assert (migrations_dir() / "env.py").is_file()


async def test_engine_fixture_is_at_head(engine: AsyncEngine) -> None:
    assert await current_revision(engine) == head_revision()
    assert await _tables(engine) == TABLES


async def test_downgrade_to_base_and_upgrade_again(engine: AsyncEngine) -> None:
    try:
        await downgrade_to(engine, "base")
        assert await current_revision(engine) is None
        assert await _tables(engine) == set()
    finally:
        await upgrade_to_head(engine)
    assert await current_revision(engine) == head_revision()
    assert await _tables(engine) == TABLES
    # Running it again on a current database changes nothing.
    await upgrade_to_head(engine)
    await ensure_current(engine, auto_migrate=False)
    assert await current_revision(engine) == head_revision()


@pytest.fixture
async def fresh_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A new, never migrated SQLite file (not the shared test database)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    yield engine
    await engine.dispose()


async def test_unmigrated_database_is_refused(fresh_engine: AsyncEngine) -> None:
    assert await current_revision(fresh_engine) is None
    with pytest.raises(SchemaNotCurrentError) as caught:
        await ensure_current(fresh_engine, auto_migrate=False)
    message = str(caught.value)
    assert "is not migrated" in message
    assert "trustbot migrate" in message
    assert "TRUSTBOT_AUTO_MIGRATE" in message
    assert await _tables(fresh_engine) == set()


async def test_auto_migrate_migrates(fresh_engine: AsyncEngine) -> None:
    await ensure_current(fresh_engine, auto_migrate=True)
    assert await current_revision(fresh_engine) == head_revision()
    assert await _tables(fresh_engine) == TABLES
    await ensure_current(fresh_engine, auto_migrate=False)


async def test_other_revision_is_refused(fresh_engine: AsyncEngine) -> None:
    await upgrade_to_head(fresh_engine)
    async with fresh_engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
    with pytest.raises(SchemaNotCurrentError) as caught:
        await ensure_current(fresh_engine, auto_migrate=False)
    assert f"is at revision ffff, not {head_revision()}" in str(caught.value)
    assert "trustbot migrate" in str(caught.value)


def _differences(connection: Connection, metadata: MetaData = Base.metadata) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_models_match_the_migration(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == []


async def test_the_comparison_notices_a_difference(engine: AsyncEngine) -> None:
    """The check above can fail: a model with one more column is reported."""
    changed = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["rounds"].append_column(Column("extra", Integer, nullable=True))
    changed.tables["rules"].c.text_en.type = String(20)
    async with engine.connect() as connection:
        differences = await connection.run_sync(_differences, changed)
    kinds = sorted(item[0] if isinstance(item, tuple) else item[0][0] for item in differences)
    assert kinds == ["add_column", "modify_type"]


async def test_migrated_schema_enforces_constraints(engine: AsyncEngine) -> None:
    """Constraints the ORM cannot compare (CHECK) exist in the migrated schema."""
    from sqlalchemy.exc import IntegrityError

    async with engine.connect() as connection:
        await connection.execute(
            text(
                "INSERT INTO rules (id, position, text_da, text_en, created_at) "
                "VALUES (1, 1, 'a', 'b', CURRENT_TIMESTAMP)"
            )
        )
        await connection.execute(
            text(
                "INSERT INTO rounds (id, period, rule_id, opened_at) "
                "VALUES (1, '2026-W48', 1, CURRENT_TIMESTAMP)"
            )
        )
        with pytest.raises(IntegrityError):
            async with connection.begin_nested():
                await connection.execute(
                    text(
                        "INSERT INTO pulse_answers (round_id, respondent, score) VALUES (1, 'p', 6)"
                    )
                )
        with pytest.raises(IntegrityError):
            async with connection.begin_nested():
                await connection.execute(
                    text(
                        "INSERT INTO anecdotes "
                        "(id, round_id, rule_id, author_ref, author_user_id, visibility, text)"
                        " VALUES (7, 1, 1, 'k', NULL, 'named', 't')"
                    )
                )
        with pytest.raises(IntegrityError):  # foreign keys are on, SQLite included
            async with connection.begin_nested():
                await connection.execute(
                    text(
                        "INSERT INTO rounds (period, rule_id, opened_at) "
                        "VALUES ('2026-W49', 999, CURRENT_TIMESTAMP)"
                    )
                )
        await connection.rollback()


SEED_AT_0001 = [
    "INSERT INTO rules (id, position, text_da, text_en, created_at)"
    " VALUES (1, 1, 'da', 'en', '2026-11-23 09:00:00+00:00')",
    "INSERT INTO rounds (id, period, rule_id, opened_at)"
    " VALUES (1, '2026-W48', 1, '2026-11-23 09:00:00+00:00')",
    "INSERT INTO deliveries (id, round_id, platform, recipient, status, channel_id, message_ts,"
    " attempts, created_at) VALUES (1, 1, 'slack', 'p1', 'sent', 'D1', '1.000100', 1,"
    " '2026-11-23 09:00:00+00:00')",
    "INSERT INTO pulse_answers (id, round_id, respondent, score, answered_at, updated_at)"
    " VALUES (1, 1, 'p1', 4, '2026-11-23 09:00:00+00:00', '2026-11-23 09:00:00+00:00')",
    "INSERT INTO anecdotes (id, round_id, rule_id, author, author_user_id, visibility, text,"
    " source_id, created_at) VALUES (1, 1, 1, 'p1', NULL, 'anonymous', 'A story.', 'V1',"
    " '2026-11-23 09:00:00+00:00')",
    "INSERT INTO reactions (id, round_id, delivery_id, reactor, emoji, created_at)"
    " VALUES (1, 1, 1, 'p1', 'heart', '2026-11-23 09:00:00+00:00')",
]


async def test_upgrading_keeps_every_row(engine: AsyncEngine) -> None:
    """Data written under the first schema survives every later migration (SQLite rebuilds
    tables to alter them; with foreign keys on, that would cascade into their children)."""
    await downgrade_to(engine, "0001", pseudonym_key=TEST_KEY)
    try:
        async with engine.begin() as connection:
            for statement in SEED_AT_0001:
                await connection.execute(text(statement))
    finally:
        await upgrade_to_head(engine, pseudonym_key=TEST_KEY)
    async with engine.connect() as connection:
        counts = {
            table: (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar()  # noqa: S608
            for table in (
                "rules",
                "rounds",
                "deliveries",
                "pulse_answers",
                "anecdotes",
                "reactions",
            )
        }
        assert counts == dict.fromkeys(counts, 1)
        answer = (
            await connection.execute(text("SELECT score, acted_us, revision FROM pulse_answers"))
        ).one()
        assert tuple(answer) == (4, 0, 0)
        reaction = (await connection.execute(text("SELECT present, event_us FROM reactions"))).one()
        assert (bool(reaction[0]), reaction[1]) == (True, 0)

        delivery = (
            await connection.execute(
                text("SELECT kind, period, message_key, message_ref, address FROM deliveries")
            )
        ).one()
    # The DM address stored in the clear before 0003 is now a keyed hash and a sealed copy.
    assert tuple(delivery[:2]) == ("prompt", "2026-W48")
    assert delivery.message_key == keyed_hash("message", "slack:D1:1.000100", key=TEST_KEY)
    assert AddressSeal(TEST_KEY).open(delivery.message_ref) == "D1 1.000100"
    assert delivery.address is None


async def test_a_migration_that_rekeys_data_names_the_missing_key(engine: AsyncEngine) -> None:
    await downgrade_to(engine, "0002", pseudonym_key=TEST_KEY)
    try:
        async with engine.begin() as connection:
            for statement in SEED_AT_0001[:3]:
                await connection.execute(text(statement))
        with pytest.raises(MigrationNeedsKeyError, match="TRUSTBOT_PSEUDONYM_KEY"):
            await upgrade_to_head(engine)
        assert await current_revision(engine) == "0002"
    finally:
        await upgrade_to_head(engine, pseudonym_key=TEST_KEY)


async def test_downgrading_restores_the_addresses(engine: AsyncEngine) -> None:
    await downgrade_to(engine, "0002", pseudonym_key=TEST_KEY)
    try:
        async with engine.begin() as connection:
            for statement in SEED_AT_0001[:3]:
                await connection.execute(text(statement))
        await upgrade_to_head(engine, pseudonym_key=TEST_KEY)
        await downgrade_to(engine, "0002", pseudonym_key=TEST_KEY)
        async with engine.connect() as connection:
            row = (
                await connection.execute(text("SELECT channel_id, message_ts FROM deliveries"))
            ).one()
        assert tuple(row) == ("D1", "1.000100")
    finally:
        await upgrade_to_head(engine, pseudonym_key=TEST_KEY)
