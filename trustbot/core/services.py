"""What a use case needs, in one object built by the composition root and passed down.

The database (db/database.py), the keys (core/privacy.Keys), the rules, the clock and the
settings. The pool, lock and session factories are the database's own; the key and seals are
the keys' own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from trustbot.config import Settings
from trustbot.core.catalogue import Language
from trustbot.core.periods import period_of
from trustbot.core.privacy import Keys
from trustbot.core.rules import Rule
from trustbot.db.database import Database
from trustbot.metrics import Metrics


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


@dataclass(slots=True)
class Services:
    """Settings, rules, the database, the keys and the clock: what every use case needs."""

    settings: Settings
    database: Database
    keys: Keys
    rules: tuple[Rule, ...]
    clock: Callable[[], datetime] = field(default=utc_now)
    # Each person's chosen language by settings subject, with when it was read (people.py).
    languages: dict[str, tuple[Language | None, float]] = field(default_factory=dict)
    # This process's Prometheus metrics (trustbot/metrics.py); counts of people's rows are
    # published in steps of TRUSTBOT_MIN_GROUP_SIZE.
    metrics: Metrics = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = Metrics(step=self.settings.min_group_size)

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """Sessions for reading."""
        return self.database.sessions

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in a write transaction, committed when the block ends without error."""
        async with self.database.transaction() as session:
            yield session

    @property
    def language(self) -> Language:
        """The language people are addressed in."""
        return self.settings.language

    def now(self) -> datetime:
        """The current time from the injected clock."""
        return self.clock()

    def current_period(self) -> str:
        """The ISO week we are in, in the configured time zone."""
        return period_of(self.now(), self.settings.zone)
