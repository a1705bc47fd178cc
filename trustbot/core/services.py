"""The core's dependencies in one object, built by the composition root and passed down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from trustbot.config import Settings
from trustbot.core.catalogue import Language
from trustbot.core.periods import period_of
from trustbot.core.privacy import AddressSeal, AuthorSeal, keyed_hash, pseudonym, round_handle
from trustbot.core.rules import Rule
from trustbot.metrics import Metrics

if TYPE_CHECKING:
    from sqlalchemy.sql.elements import TextClause
    from sqlalchemy.sql.selectable import TextualSelect

    from trustbot.db.direct import DirectStatements


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


@dataclass(slots=True)
class Services:
    """Settings, rules, database sessions and the clock: what every use case needs."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    writes: async_sessionmaker[AsyncSession]
    rules: tuple[Rule, ...]
    pseudonym_key: str
    clock: Callable[[], datetime] = field(default=utc_now)
    seal: AddressSeal = field(init=False)
    author_seal: AuthorSeal = field(init=False)
    write_lock: asyncio.Lock | None = None  # set for SQLite (one writer at a time)
    direct: DirectStatements | None = None  # set for PostgreSQL: the click's statement
    # Each person's chosen language by settings subject, with when it was read (people.py).
    languages: dict[str, tuple[Language | None, float]] = field(default_factory=dict)
    # This process's Prometheus metrics (trustbot/metrics.py); counts of people's rows are
    # published in steps of TRUSTBOT_MIN_GROUP_SIZE.
    metrics: Metrics = field(init=False)

    def __post_init__(self) -> None:
        self.seal = AddressSeal(self.pseudonym_key)
        self.author_seal = AuthorSeal(self.pseudonym_key)
        self.metrics = Metrics(step=self.settings.min_group_size)

    @property
    def dialect(self) -> str:
        """The database's SQLAlchemy dialect name: "sqlite" or "postgresql"."""
        name: str = self.writes.kw["bind"].dialect.name
        return name

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

    def pseudonym(self, user_id: str, platform: str) -> str:
        """A person's pseudonym: what every per-table handle is made from; never stored."""
        return pseudonym(user_id, key=self.pseudonym_key, platform=platform)

    def delivery_handle(self, person: str, round_id: int) -> str:
        """Who a round's prompt and reminders went to (`person` is a pseudonym): equal on one
        round's deliveries to one person, and on nothing else."""
        return round_handle("delivery", person, round_id, key=self.pseudonym_key)

    def answer_handle(self, person: str, round_id: int) -> str:
        """Who gave an answer: a different value in every round, and never a delivery's."""
        return round_handle("answer", person, round_id, key=self.pseudonym_key)

    def reaction_handle(self, person: str, round_id: int) -> str:
        """Who reacted to a round's prompt: its own value, joinable to no answer or delivery."""
        return round_handle("reaction", person, round_id, key=self.pseudonym_key)

    def message_key(self, platform: str, conversation_id: str, message_id: str) -> str:
        """The handle a delivered message is found by again, without storing its address."""
        return keyed_hash(
            "message", f"{platform}:{conversation_id}:{message_id}", key=self.pseudonym_key
        )

    def settings_subject(self, user_id: str, platform: str) -> str:
        """The key of a person's own settings: a different handle from any other."""
        return keyed_hash("settings", f"{platform}:{user_id}", key=self.pseudonym_key)

    def teams_person_key(self, aad_id: str) -> str:
        """The key of a Teams person's stored personal conversation (teams/references.py)."""
        return keyed_hash("teams-person", aad_id.lower(), key=self.pseudonym_key)

    async def write_one(
        self, statement: TextClause | TextualSelect, parameters: Mapping[str, Any]
    ) -> Sequence[Any] | None:
        """Run one writing statement by itself (it commits on its own); its first row, if any.

        For the hottest path, a score click. On PostgreSQL it runs on psycopg's own pool
        (db/direct.py); on SQLite it queues for this process's write lock like every write.
        """
        if self.direct is not None:
            return await self.direct.first(statement, parameters)
        async with self.write_connection() as connection:
            row = (await connection.execute(statement, parameters)).first()
        return None if row is None else tuple(row)

    @asynccontextmanager
    async def write_connection(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection in a write transaction (no ORM session); on SQLite it takes the
        write lock up front (BEGIN IMMEDIATE), behind this process's other writers."""
        bind = self.writes.kw["bind"]
        if self.write_lock is None:
            async with bind.begin() as connection:
                yield connection
            return
        async with self.write_lock, bind.begin() as connection:
            yield connection

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in a write transaction, committed when the block ends without error.

        SQLite has one writer at a time: writers of this process queue on an asyncio lock, in
        arrival order, instead of sleeping in SQLite's busy handler (BEGIN IMMEDIATE still
        guards against other processes).
        """
        if self.write_lock is None:
            async with self.writes() as session, session.begin():
                yield session
            return
        async with self.write_lock, self.writes() as session, session.begin():
            yield session
