"""A database reader without the key tries the order rows are stored in: ids, SQLite's rowid,
PostgreSQL's xmin and ctid, and the order a plain SELECT (or a dump) returns, against the
order people first clicked and the audience's member-list order. Once a week has closed, its
raw rows are in an order that depends only on keyed handles and random ids."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import handle
from tests.privacy.db_reader import (
    RAW_TABLES,
    STORIES,
    History,
    order_of,
    physical,
    shared_used_fixture,  # noqa: F401  (the fixture `used`, shared by the module)
)
from tests.scenario.conftest import EMPLOYEES, Stack

# Each table's primary key: the order a closed round's rows must be stored in.
PRIMARY_KEY = {
    "pulse_answers": ("round_id", "respondent"),
    "reactions": ("round_id", "reactor", "emoji"),
    "anecdotes": ("id",),
    "deliveries": ("id",),
}


def _key(row: dict[str, Any], table: str) -> tuple[Any, ...]:
    return tuple(row[column] for column in PRIMARY_KEY[table])


@pytest.mark.asyncio(loop_scope="module")
async def test_a_closed_weeks_rows_are_stored_in_key_order_only(
    used: tuple[Stack, History],
) -> None:
    """A plain SELECT returns each closed week's rows sorted by their keys (keyed hashes and
    random ids), whatever order people acted in; on PostgreSQL one transaction (the close)
    wrote them all, so xmin says nothing either."""
    stack, history = used
    engine = stack.runtime.engine
    postgres = engine.dialect.name == "postgresql"
    for table in RAW_TABLES:
        rows = await physical(engine, table)
        for round_id in history.round_ids[:-1]:
            mine = [row for row in rows if row["round_id"] == round_id]
            assert mine, (table, round_id)
            assert [_key(r, table) for r in mine] == sorted(_key(r, table) for r in mine), table
            if postgres:
                assert len({row["xmin"] for row in mine}) == 1, table
                ctids = [tuple(map(int, row["ctid"].strip("()").split(","))) for row in mine]
                assert ctids == sorted(ctids), table
            elif "rowid_" in mine[0]:
                assert [row["rowid_"] for row in mine] == [row["id"] for row in mine], table


@pytest.mark.asyncio(loop_scope="module")
async def test_no_order_follows_first_clicks_or_the_audience(
    used: tuple[Stack, History],
) -> None:
    """Tied to people with the key (as only the test may), the stored order of each closed
    week's answers, stories and deliveries is the order of their handles, not of the clicks
    or the member list; ids follow neither."""
    stack, history = used
    services = stack.services
    engine = stack.runtime.engine
    answers = await physical(engine, "pulse_answers")
    deliveries = await physical(engine, "deliveries")
    audience = list(EMPLOYEES)  # the channel's and user group's member order
    for week, round_id in enumerate(history.round_ids[:-1]):
        clicks = history.clicks[week]
        stored = [row["respondent"] for row in answers if row["round_id"] == round_id]
        by_click = [handle(services, "answer", user, round_id) for user in clicks]
        assert sorted(stored) == sorted(by_click)
        assert stored == sorted(by_click)  # the handles' order, whatever the clicks'
        prompts = [
            row for row in deliveries if row["round_id"] == round_id and row["kind"] == "prompt"
        ]
        by_audience = [handle(services, "delivery", user, round_id) for user in audience]
        assert sorted(row["recipient"] for row in prompts) == sorted(by_audience)
        ids = [row["id"] for row in prompts]
        assert ids == sorted(ids)  # stored by id, and the ids are random: no count of anything
        assert ids[-1] - ids[0] > 1000 * len(ids)


@pytest.mark.asyncio(loop_scope="module")
async def test_the_order_attack_finds_insertion_order_where_it_is_kept(
    used: tuple[Stack, History],
) -> None:
    """The same reading of order on purpose-built rows written in click order: a table with a
    counting id (SQLite's rowid, PostgreSQL's serial and ctid) gives the clicks' order back
    exactly, as pulse_answers.id did before migration 0007."""
    stack, history = used
    engine = stack.runtime.engine
    clicks = history.clicks[0]
    async with engine.begin() as connection:
        serial = "SERIAL" if engine.dialect.name == "postgresql" else "INTEGER"
        await connection.execute(text("DROP TABLE IF EXISTS linked_demo"))
        await connection.execute(
            text(f"CREATE TABLE linked_demo (id {serial} PRIMARY KEY, who TEXT)")
        )
        for user in clicks:
            await connection.execute(text("INSERT INTO linked_demo (who) VALUES (:w)"), {"w": user})
    try:
        rows = await physical(engine, "linked_demo")
        assert order_of([row["who"] for row in rows], clicks) == 1.0
        assert order_of(sorted(clicks), clicks) < 1.0  # and a key order is not the clicks'
    finally:
        async with engine.begin() as connection:
            await connection.execute(text("DROP TABLE linked_demo"))


@pytest.mark.asyncio(loop_scope="module")
async def test_an_open_weeks_stories_and_answers_are_not_joined_by_order_on_sqlite(
    used: tuple[Stack, History],
) -> None:
    """On SQLite even the open week gives no order: answers and reactions have no rowid
    (stored by key), stories and deliveries have random ids as their rowid. (PostgreSQL keeps
    an open week's write order in xmin and ctid until the week closes: docs/privacy.md, "A
    database superuser watching live".)"""
    stack, history = used
    engine: AsyncEngine = stack.runtime.engine
    if engine.dialect.name != "sqlite":
        return
    open_round = history.round_ids[-1]
    for table in RAW_TABLES:
        rows = [r for r in await physical(engine, table) if r["round_id"] == open_round]
        assert [_key(r, table) for r in rows] == sorted(_key(r, table) for r in rows), table
        assert "rowid_" not in (rows[0] if rows else {}) or all(
            r["rowid_"] == r["id"] for r in rows
        )
    stories = [r for r in await physical(engine, "anecdotes") if r["round_id"] == open_round]
    assert len(stories) == len(STORIES[3])
