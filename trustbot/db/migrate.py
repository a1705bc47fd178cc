"""Alembic, driven from trustbot: upgrade to head and tell whether a database is current."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine


class SchemaNotCurrentError(Exception):
    """The database is not at the schema this code needs."""


class MigrationNeedsKeyError(Exception):
    """A migration must re-key stored data and TRUSTBOT_PSEUDONYM_KEY is not set."""


def migrations_dir() -> Path:
    """`migrations/` in a source checkout, or the copy packaged inside the wheel."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_migrations", package.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("trustbot's migrations directory is missing from this install")


def alembic_config() -> Config:
    """An Alembic config pointing at trustbot's migrations, without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["configure_logger"] = False
    return config


def head_revision() -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade_to_head(engine: AsyncEngine, *, pseudonym_key: str | None = None) -> None:
    """Apply every migration the database lacks.

    Some migrations re-key stored data (a keyed hash, a sealed address) and need the pseudonym
    key; they stop with a line naming TRUSTBOT_PSEUDONYM_KEY when there is data and no key.
    """
    await _run(engine, lambda config: command.upgrade(config, "head"), pseudonym_key)


async def downgrade_to(
    engine: AsyncEngine, revision: str, *, pseudonym_key: str | None = None
) -> None:
    """Undo migrations down to `revision` ("base" empties the schema)."""
    await _run(engine, lambda config: command.downgrade(config, revision), pseudonym_key)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


async def ensure_current(
    engine: AsyncEngine, *, auto_migrate: bool, pseudonym_key: str | None = None
) -> None:
    """Migrate when allowed; otherwise refuse to run on an unmigrated or outdated schema."""
    head = head_revision()
    current = await current_revision(engine)
    if current == head:
        return
    if auto_migrate:
        await upgrade_to_head(engine, pseudonym_key=pseudonym_key)
        return
    state = "is not migrated" if current is None else f"is at revision {current}, not {head}"
    raise SchemaNotCurrentError(
        f"the database {state}: run `trustbot migrate` "
        "(or set TRUSTBOT_AUTO_MIGRATE=true to migrate at start-up)"
    )


async def _run(
    engine: AsyncEngine, action: Callable[[Config], None], pseudonym_key: str | None = None
) -> None:
    def in_connection(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        config.attributes["pseudonym_key"] = pseudonym_key
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying it and dropping the original; with foreign keys
            # on, that DROP would cascade into every referencing table. The pragma only takes
            # effect outside a transaction, hence before begin().
            _sqlite_pragma(connection, "foreign_keys=OFF")
        try:
            with connection.begin():
                action(config)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                _sqlite_pragma(connection, "foreign_keys=ON")

    async with engine.connect() as connection:
        await connection.run_sync(in_connection)


def _sqlite_pragma(connection: Connection, pragma: str) -> None:
    """Run a pragma on the driver connection directly, outside any transaction."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()
