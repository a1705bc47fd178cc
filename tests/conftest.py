"""Test harness: every database test runs on SQLite and on PostgreSQL, migrated by Alembic.

PostgreSQL is at TRUSTBOT_TEST_POSTGRES_URL (default the local server); each run creates a fresh
database there and drops it afterwards. Without a reachable server the PostgreSQL half is skipped
and the summary says so loudly; under CI=true that is a failure instead.

Under pytest-xdist each worker is a process of its own with its own session fixtures, so each has
its own PostgreSQL database and SQLite file; the controller counts the outcomes its workers
report and prints the summary.
"""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import delete
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from trustbot.app import open_services
from trustbot.config import Settings, load_settings
from trustbot.core.privacy import Keys
from trustbot.core.rules import load_rules
from trustbot.core.services import Services, utc_now
from trustbot.db.base import Base
from trustbot.db.database import Database
from trustbot.db.migrate import upgrade_to_head
from trustbot.db.session import create_engine
from trustbot.teams import prepare_teams_sdk

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BACKENDS = ("sqlite", "postgresql")
TEST_KEY = "test-pseudonym-key-0123456789abcdef0123456789"

_outcomes: dict[str, dict[str, int]] = {backend: {} for backend in BACKENDS}
_postgres_problem: list[str] = []
_SKIPPED_HALF = "POSTGRESQL HALF SKIPPED"


def in_ci() -> bool:
    """Whether this run is CI's (where a skipped PostgreSQL half is a failure)."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(autouse=True, scope="session")
def _clean_environment() -> Iterator[None]:
    """Keep a developer's SLACK_*/TRUSTBOT_* variables out of the tests."""
    saved = {
        name: os.environ.pop(name)
        for name in list(os.environ)
        if name.startswith(("SLACK_", "TRUSTBOT_")) and name != "TRUSTBOT_TEST_POSTGRES_URL"
    }
    yield
    os.environ.update(saved)


def make_settings(database_url: str = "sqlite:///:memory:", **overrides: Any) -> Settings:
    """Settings for tests: no .env file, a fixed pseudonym key, English."""
    values: dict[str, Any] = {
        "TRUSTBOT_DATABASE_URL": database_url,
        "TRUSTBOT_PSEUDONYM_KEY": TEST_KEY,
        "TRUSTBOT_LANGUAGE": "en",
        "TRUSTBOT_TIMEZONE": "Europe/Copenhagen",
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": "test-signing-secret",
    }
    values.update(overrides)
    return load_settings(_env_file=None, **values)


def process_services(
    engine: AsyncEngine, settings: Settings, clock: Callable[[], datetime] | None = None
) -> Services:
    """Services as one separate process has them, over its own pool `engine` (no direct pool:
    what the leader loop and the sender need); the caller disposes of the engine."""
    assert settings.pseudonym_key is not None
    return Services(
        settings=settings,
        database=Database(engine),
        keys=Keys(settings.pseudonym_key.get_secret_value()),
        rules=load_rules(settings.rules_file),
        clock=clock or utc_now,
    )


class FixedClock:
    """A clock the test moves by hand (`clock.now = ...`, `clock.now += ...`).

    A ticking clock also moves on with real time from the last hand-set moment, so that waits
    measured with it (a Retry-After, a backoff) pass as they would in production.
    """

    def __init__(self, now: datetime, *, ticking: bool = False) -> None:
        self._ticking = ticking
        self.now = now

    @property
    def now(self) -> datetime:
        """The current moment."""
        if not self._ticking:
            return self._now
        return self._now + timedelta(seconds=time.monotonic() - self._set_at)

    @now.setter
    def now(self, moment: datetime) -> None:
        self._now = moment
        self._set_at = time.monotonic()

    def __call__(self) -> datetime:
        return self.now


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()


def _postgres_admin_url() -> str:
    return os.environ.get("TRUSTBOT_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


@pytest.fixture(scope="session")
def postgresql_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, migrated to head; dropped at the end."""
    admin_url = _postgres_admin_url()
    name = f"trustbot_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = make_url(admin_url).set(drivername="postgresql")
    conninfo = admin.render_as_string(hide_password=False)
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        problem = f"PostgreSQL at {admin.render_as_string()} is unreachable: {reason}"
        _postgres_problem.append(problem)
        if in_ci():
            pytest.fail(f"{problem} (CI=true requires the PostgreSQL half)", pytrace=False)
        pytest.skip(f"{_SKIPPED_HALF}: {problem}")
    url = admin.set(database=name).render_as_string(hide_password=False)
    asyncio.run(_migrate(url))
    yield url
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file for this run, migrated to head."""
    path: Path = tmp_path_factory.mktemp("db") / "trustbot-test.db"
    url = f"sqlite:///{path}"
    asyncio.run(_migrate(url))
    return url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """The URL of a migrated database, once per backend."""
    backend: str = request.param
    return str(request.getfixturevalue(f"{backend}_database"))


@pytest.fixture(scope="module", params=BACKENDS)
def module_database_url(request: pytest.FixtureRequest) -> str:
    """`database_url` for a fixture a module's tests share (built once per backend and worker):
    the module's tests run in the module's event loop, and the fixture empties the database
    with `empty` before it builds on it."""
    backend: str = request.param
    return str(request.getfixturevalue(f"{backend}_database"))


async def empty(engine: AsyncEngine) -> None:
    """Delete every row of every table."""
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(delete(table))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on an emptied, migrated database."""
    engine = create_engine(database_url)
    await empty(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    """Thursday 26 November 2026, 10:00 UTC: ISO week 2026-W48 in Copenhagen."""
    return FixedClock(datetime(2026, 11, 26, 10, 0, tzinfo=UTC))


@pytest.fixture
async def services(
    engine: AsyncEngine, database_url: str, clock: FixedClock
) -> AsyncIterator[Services]:
    """The core's services over the test database."""
    async with open_services(
        make_settings(database_url), clock=clock, prepare=False, engine=engine
    ) as services:
        yield services


_drawn: dict[str, Any] = {}


@functools.lru_cache(maxsize=256)
def _chart_drawn_once(chart: Any, **options: Any) -> bytes:
    data: bytes = _drawn["draw"](chart, **options)
    return data


@pytest.fixture
def charts_drawn_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Draw each distinct trend chart once per test process and hand out its bytes after that
    (a draw costs about 0.1 s of CPU).

    The renderer gives the same bytes for the same chart (tests/unit/render/test_chart.py holds
    it to that), so a stack that renders the same report's chart on every request (a leader
    polling /trust-report on both platforms) gets exactly the bytes it would have drawn; the
    chart is still built from each report, off the event loop, and uploaded every time."""
    from trustbot.render import chart

    _drawn.setdefault("draw", chart.render_trend_chart_png)
    monkeypatch.setattr(chart, "render_trend_chart_png", _chart_drawn_once)


def _backend_of(item_id: str) -> str | None:
    for backend in BACKENDS:
        if f"[{backend}" in item_id or f"-{backend}]" in item_id or f"-{backend}-" in item_id:
            return backend
    return None


def pytest_configure(config: pytest.Config) -> None:
    """Before any test module imports Microsoft's Teams SDK: what `serve` does before it."""
    del config
    prepare_teams_sdk()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count outcomes per database backend for the closing summary."""
    backend = _backend_of(report.nodeid)
    if backend is None:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        counts = _outcomes[backend]
        counts[report.outcome] = counts.get(report.outcome, 0) + 1
    if report.skipped and not _postgres_problem:
        # Under xdist the PostgreSQL fixture skipped in a worker: the controller learns it here.
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        if f"{_SKIPPED_HALF}: " in reason:
            _postgres_problem.append(reason.split(f"{_SKIPPED_HALF}: ", 1)[1])


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say plainly which database backends ran, and shout when PostgreSQL did not."""
    terminalreporter.section("database backends")
    for backend in BACKENDS:
        counts = _outcomes[backend]
        figures = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "no tests"
        terminalreporter.write_line(f"{backend}: {figures}")
    if _postgres_problem:
        terminalreporter.write_line(
            "!!! THE POSTGRESQL HALF WAS SKIPPED: " + _postgres_problem[0], red=True, bold=True
        )
