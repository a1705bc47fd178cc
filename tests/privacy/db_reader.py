"""A hostile database reader's tools: dump every table without the key, and look for links.

Everything here works on what a copy of the database shows (a SQLite file, `pg_dump`, a
replica): values, row order, PostgreSQL's system columns and raw pages. Nothing here uses
TRUSTBOT_PSEUDONYM_KEY; the tests use the key only to say which rows are whose, to check
the attacks against the truth.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import MetaData, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FixedClock, empty
from tests.scenario.conftest import EMPLOYEES, Stack, running_stack
from trustbot.db.models import Round
from trustbot.db.session import create_engine

type Dump = dict[str, list[dict[str, Any]]]

# Columns every row of a round shares on purpose ("which week", "which kind of row"), and group
# labels shared by many people (a team): equal values here join rows to a week or a team, never
# to a person.
SHARED_ON_PURPOSE = {
    "round_id",
    "rule_id",
    "period",
    "kind",
    "platform",
    "seq",
    "status",
    "team",
    "visibility",
    "emoji",
    "present",
    "installed",
    "language",
    "paused",
    "attempts",
    "revision",
    "score",
    "last_error",
}
RAW_TABLES = ("pulse_answers", "anecdotes", "reactions", "deliveries")


async def dump(engine: AsyncEngine) -> Dump:
    """Every row of every table, as a reader without the key sees it (the tables as they are
    in the database, whatever revision wrote them)."""
    tables: Dump = {}
    metadata = MetaData()
    async with engine.connect() as connection:
        await connection.run_sync(metadata.reflect)
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = (await connection.execute(select(table))).mappings().all()
            tables[table.name] = [dict(row) for row in rows]
    return tables


@dataclass(frozen=True, slots=True)
class Join:
    """Two columns that share a value a person could be followed by."""

    left: str
    right: str
    value: str


def _identifying(value: object) -> str | None:
    """A value worth joining on: long enough to single something out (no flags, no counts)."""
    if value is None or isinstance(value, bool | datetime):
        return None
    as_text = str(value)
    return as_text if len(as_text) >= 12 else None


def find_joins(tables: Dump) -> list[Join]:
    """Every pair of columns, across tables and within one, whose values meet: another row
    with the same value in another column, or the same column in another round (a person
    followed from week to week), or two stories with the same author value."""
    found: list[Join] = []
    columns: dict[str, dict[str, set[tuple[int | None, int]]]] = {}
    for name, rows in tables.items():
        for index, row in enumerate(rows):
            for column, value in row.items():
                if column in SHARED_ON_PURPOSE:
                    continue
                key = _identifying(value)
                if key is None:
                    continue
                columns.setdefault(f"{name}.{column}", {}).setdefault(key, set()).add(
                    (row.get("round_id"), index)
                )
    names = sorted(columns)
    for position, left in enumerate(names):
        for right in names[position + 1 :]:
            for value in columns[left].keys() & columns[right].keys():
                if _same_row_family(left, right):
                    continue
                found.append(Join(left, right, value))
        for value, places in columns[left].items():
            rounds = {round_id for round_id, _ in places}
            rows = {index for _, index in places}
            if left.startswith("anecdotes.") and left != "anecdotes.text" and len(rows) > 1:
                found.append(Join(left, left, value))  # one author, two stories
            elif len(rounds) > 1 and left.split(".")[0] in RAW_TABLES:
                found.append(Join(left, left, value))  # one person, two weeks
    return found


def _same_row_family(left: str, right: str) -> bool:
    """Deliveries' prompt and reminder rows of one round share the recipient on purpose."""
    return left == right


def fernet_times(tables: Dump) -> list[tuple[str, datetime]]:
    """Every text value that is a Fernet token, with the time it carries in the clear (a
    version byte 0x80, then seconds since the epoch as 8 big-endian bytes)."""
    found = []
    for name, rows in tables.items():
        for row in rows:
            for column, value in row.items():
                if not isinstance(value, str) or len(value) < 40:
                    continue
                try:
                    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
                except (binascii.Error, ValueError):
                    continue
                if raw[:1] != b"\x80" or len(raw) < 9:
                    continue
                (seconds,) = struct.unpack(">Q", raw[1:9])
                if 1_000_000_000 < seconds < 4_000_000_000:  # 2001 to 2096: a time
                    found.append((f"{name}.{column}", datetime.fromtimestamp(seconds)))
    return found


def exact_times(tables: Dump, table_names: Iterable[str]) -> list[tuple[str, object]]:
    """Values that order rows in time: a timestamp finer than a day, or a microsecond clock."""
    found: list[tuple[str, object]] = []
    for name in table_names:
        for row in tables[name]:
            for column, value in row.items():
                if isinstance(value, datetime) and value.time() != datetime.min.time():
                    found.append((f"{name}.{column}", value))
                if column in ("acted_us", "event_us") and value:
                    found.append((f"{name}.{column}", value))
    return found


def order_of(values: list[Any], reference: list[Any]) -> float:
    """Kendall's tau between the order `values` are in and the order `reference` gives them:
    1.0 when one follows the other exactly, about 0 when unrelated."""
    rank = {value: index for index, value in enumerate(reference)}
    ranks = [rank[value] for value in values if value in rank]
    pairs = concordant = 0
    for i in range(len(ranks)):
        for j in range(i + 1, len(ranks)):
            pairs += 1
            concordant += 1 if ranks[i] < ranks[j] else -1
    return concordant / pairs if pairs else 0.0


async def physical(engine: AsyncEngine, table: str) -> list[dict[str, Any]]:
    """The table's rows in the order a plain SELECT (and so a dump) returns them, with the
    system columns that tell insertion order: PostgreSQL's ctid and xmin, SQLite's rowid
    (absent on a WITHOUT ROWID table)."""
    async with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            query = f"SELECT ctid::text AS ctid, xmin::text AS xmin, * FROM {table}"  # noqa: S608
        elif await _has_rowid(engine, table):
            query = f"SELECT rowid AS rowid_, * FROM {table}"  # noqa: S608
        else:
            query = f"SELECT * FROM {table}"  # noqa: S608
        return [dict(row) for row in (await connection.execute(text(query))).mappings()]


async def _has_rowid(engine: AsyncEngine, table: str) -> bool:
    async with engine.connect() as connection:
        sql = await connection.scalar(
            text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": table}
        )
    return "WITHOUT ROWID" not in str(sql).upper()


async def raw_bytes(engine: AsyncEngine, database_url: str) -> bytes:
    """What a file-level copy holds: SQLite's file and its -wal file; PostgreSQL's table and
    index pages (read with pageinspect, dead rows and free space included)."""
    if database_url.startswith("sqlite"):
        path = database_url.removeprefix("sqlite:///")
        data = b""
        for suffix in ("", "-wal"):
            try:
                with open(path + suffix, "rb") as handle:  # noqa: ASYNC230
                    data += handle.read()
            except FileNotFoundError:
                pass
        return data
    chunks = []
    async with engine.connect() as connection:
        await connection.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
        await connection.commit()
        relations = await connection.execute(
            text(
                "SELECT c.relname, pg_relation_size(c.oid) / current_setting('block_size')::int"
                " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i', 't')"
            )
        )
        for relation, pages in relations.all():
            for page in range(int(pages)):
                chunks.append(
                    await connection.scalar(
                        text("SELECT get_raw_page(:r, :p)"), {"r": relation, "p": page}
                    )
                )
    return b"".join(bytes(chunk) for chunk in chunks)


async def columns_of(engine: AsyncEngine, table: str) -> set[str]:
    async with engine.connect() as connection:
        found = await connection.run_sync(lambda sync: inspect(sync).get_columns(table))
    return {column["name"] for column in found}


def hex_in(data: bytes, values: Iterable[str]) -> list[str]:
    """Which of these values appear in the bytes, as text."""
    return [value for value in values if value.encode() in data]


def of_round(tables: Mapping[str, list[dict[str, Any]]], table: str, round_id: int) -> list[Any]:
    return [row for row in tables[table] if row.get("round_id") == round_id]


WEEK = timedelta(weeks=1)
TEAMS = "Sales=S0SALES,Support=S0SUPPORT"


@dataclass
class History:
    """What the scenario did, for checking the attacks against the truth."""

    round_ids: list[int]  # closed weeks, then the open one
    clicks: list[list[str]]  # each week's users in the order they first clicked


async def multi_week(
    stack: Stack,
    weeks: list[dict[str, int]],
    stories: dict[int, list[tuple[str, str, str]]],
    *,
    open_week: dict[str, int] | None = None,
) -> History:
    """Weeks of use through the real stack (signed HTTP through the Slack emulator): each week
    prompts, the given clicks in the order given, each author's stories right after their
    click, a reaction from every other clicker, a reminder run, and the week closing. Then, if
    given, one more week that stays open."""
    history = History([], [])
    stack.clock.now -= WEEK * len(weeks)
    for week, scores in enumerate([*weeks, *([open_week] if open_week else [])]):
        summary = await stack.prompt()
        async with stack.services.sessions() as session:
            round_id = await session.scalar(select(Round.id).where(Round.period == summary.period))
        assert round_id is not None
        history.round_ids.append(round_id)
        history.clicks.append(list(scores))
        for index, (user, score) in enumerate(scores.items()):
            await stack.driver.click_button(
                user_id=user, message=stack.prompt_for(user), action_id=f"pulse_score:{score}"
            )
            if index % 2 == 0:
                await stack.driver.react(
                    user_id=user, message=stack.prompt_for(user), reaction="tada"
                )
            for author, words, sharing in stories.get(week, []):
                if author == user:
                    await stack.share_story(author, words, sharing)
            await stack.settle()
        await stack.runtime.jobs.remind(stack.clock.now)
        await stack.runtime.sender.drain(period=summary.period)
        await stack.settle()
        if week < len(weeks):
            stack.clock.now += WEEK
            await stack.runtime.jobs.close()
    return history


E1, E2, E3, E4, E5, E6 = EMPLOYEES
WEEKS = [
    {E4: 4, E1: 2, E6: 5, E2: 3, E5: 4, E3: 1},
    {E2: 5, E6: 2, E1: 4, E5: 4, E4: 3},
    {E5: 1, E3: 2, E1: 5, E6: 4},
]
OPEN_WEEK = {E3: 4, E1: 1, E2: 5}
STORIES = {  # each told right after its author's click
    0: [(E1, "E1 named, week one", "named"), (E1, "E1 anonymous, week one", "anonymous")],
    1: [(E1, "E1 anonymous, week two", "anonymous"), (E4, "E4 private", "private")],
    2: [(E3, "E3 named", "named"), (E5, "E5 anonymous", "anonymous")],
    3: [(E1, "E1 anonymous, open week", "anonymous"), (E2, "E2 named, open", "named")],
}


@asynccontextmanager
async def in_use(database_url: str, clock: FixedClock) -> AsyncIterator[tuple[Stack, History]]:
    """Three closed weeks and an open one, with teams, stories, reactions and reminders, on an
    emptied database."""
    engine = create_engine(database_url)
    try:
        await empty(engine)
    finally:
        await engine.dispose()
    # The four weeks pass in a second of real time: the stack sends unpaced (running_stack),
    # and Slack's one message per second per channel would make each week wait for the clock.
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr("trustbot.delivery.pacing.PER_CHANNEL_INTERVAL_S", 0.0)
        async with running_stack(database_url, clock, TRUSTBOT_TEAMS=TEAMS) as stack:
            stack.emulator.usergroups["S0SALES"] = [E1, E2, E3]
            stack.emulator.usergroups["S0SUPPORT"] = [E4, E5, E6]
            for word in ("pause", "resume"):
                await stack.driver.send_command(user_id=E6, command="/trust-prompts", text=word)
                await stack.settle()
            await stack.settle()
            history = await multi_week(stack, WEEKS, STORIES, open_week=OPEN_WEEK)
            yield stack, history


def _ticking() -> FixedClock:
    """Thursday of 2026-W48, ticking on as real time does: the drivers date each click by the
    stack's clock, and on a clock standing still every click and reaction would share one
    microsecond (a value the join attack would rightly follow)."""
    return FixedClock(datetime(2026, 11, 26, 10, 0, tzinfo=UTC), ticking=True)


@pytest.fixture(name="used")
async def used_fixture(database_url: str) -> AsyncIterator[tuple[Stack, History]]:
    """`in_use`, for a test of its own (one that changes what it finds)."""
    async with in_use(database_url, _ticking()) as used:
        yield used


@pytest_asyncio.fixture(name="used", scope="module", loop_scope="module")
async def shared_used_fixture(module_database_url: str) -> AsyncIterator[tuple[Stack, History]]:
    """`in_use`, shared by a module's tests that only read it (each marked
    `pytest.mark.asyncio(loop_scope="module")`)."""
    async with in_use(module_database_url, _ticking()) as used:
        yield used


Scrubs = list[tuple[AsyncEngine, tuple[str, ...], bool]]


def record_scrubs(monkeypatch: pytest.MonkeyPatch) -> Scrubs:
    """Every scrub `forget` runs, with whether it fully worked (db/scrub.py returns that)."""
    from trustbot.core import erasure
    from trustbot.db.scrub import scrub

    runs: Scrubs = []

    async def recorded(engine: AsyncEngine, tables: Iterable[str]) -> bool:
        names = tuple(tables)
        done = await scrub(engine, names)
        runs.append((engine, names, done))
        return done

    monkeypatch.setattr(erasure, "scrub", recorded)
    return runs


async def as_the_next_clean_up_would(runs: Scrubs) -> None:
    """privacy.md: a scrub that could not finish (a transaction older than the deletion still
    open, or the table's lock not had within 5 s: a warning either way) leaves the dead rows'
    bytes until the next one succeeds. Run that next one, as the next close or forget would; it
    must succeed, and the caller checks the bytes after it."""
    from trustbot.db.scrub import scrub

    for engine, tables, done in runs:
        if not done:
            assert await scrub(engine, tables), "the next clean-up did not finish either"
