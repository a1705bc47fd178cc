"""What every case of the hostile corpora checks besides its answer: nothing in the database
changed, and the log has no ERROR line, no traceback and none of what the request carried."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import delete, select

from trustbot.core.services import Services
from trustbot.db.base import Base
from trustbot.db.session import create_engine
from trustbot.logsetup import BODY_LOGGERS

MARKER = "HOSTILE-7f3a"
"""Written into every text a hostile request carries that trustbot could be tempted to log."""
VOLATILE = {"teams_conversations"}
"""Tables a request may rewrite without changing what they say: a Teams conversation reference is
re-sealed (randomised encryption) each time a person writes; only their count is compared."""

Snapshot = dict[str, list[tuple[Any, ...]]]


async def snapshot(services: Services) -> Snapshot:
    """Every row of every table (a count for the volatile ones), in a stable order."""
    taken: Snapshot = {}
    async with services.sessions() as session:
        for table in Base.metadata.sorted_tables:
            rows = [tuple(row) for row in (await session.execute(select(table))).all()]
            if table.name in VOLATILE:
                taken[table.name] = [(len(rows),)]
            else:
                taken[table.name] = sorted(rows, key=repr)
    return taken


async def empty_database(database_url: str) -> None:
    """Every table emptied, as the `engine` fixture does, for a stack shared by a module."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                await connection.execute(delete(table))
    finally:
        await engine.dispose()


def assert_clean_log(caplog: pytest.LogCaptureFixture, *carried: str) -> None:
    """No ERROR, no traceback, and nothing the request carried (people's ids, their words)."""
    # As `serve` logs: below INFO, loggers that print bodies or SQL with values are off.
    records = [
        r
        for r in caplog.records
        if r.levelno >= logging.INFO or not r.name.startswith(BODY_LOGGERS)
    ]
    assert [r.getMessage() for r in records if r.levelno >= logging.ERROR] == []
    assert [r.getMessage() for r in records if r.exc_info] == []
    logged = "\n".join(r.getMessage() for r in records)
    assert "Traceback" not in logged
    for value in (MARKER, *carried):
        assert value not in logged, f"{value!r} reached the log"


def ids_of(cases: Iterable[Any]) -> list[str]:
    """Test ids: the case names."""
    return [case.name for case in cases]


def epoch(moment: datetime | Callable[[], datetime]) -> float:
    """Seconds since the epoch of a moment (or of a clock's now)."""
    return (moment() if callable(moment) else moment).timestamp()
