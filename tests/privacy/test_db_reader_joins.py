"""A database reader without the key tries to join rows about people: every pair of columns
across tables, the same column across weeks, one author's stories, sealed values' times and
time columns; while a week is open and after weeks closed. Every attack finds nothing, and each
is shown to find its link in purpose-built linked data."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.privacy.db_reader import (
    OPEN_WEEK,
    STORIES,
    WEEKS,
    Dump,
    History,
    exact_times,
    fernet_times,
    find_joins,
    shared_used_fixture,  # noqa: F401  (the fixture `used`, shared by the module)
)
from tests.privacy.db_reader import (
    dump as dump_tables,
)
from tests.scenario.conftest import Stack
from trustbot.core.legacy import FernetSeal


@pytest.mark.asyncio(loop_scope="module")
async def test_no_value_joins_rows_about_a_person(used: tuple[Stack, History]) -> None:
    stack, _history = used
    tables = await dump_tables(stack.runtime.engine)
    assert len(tables["pulse_answers"]) == sum(map(len, WEEKS)) + len(OPEN_WEEK)
    assert len(tables["anecdotes"]) == sum(map(len, STORIES.values()))
    assert tables["reactions"]
    assert tables["person_settings"]
    assert any(row["kind"] == "reminder" for row in tables["deliveries"])

    assert find_joins(tables) == []


@pytest.mark.asyncio(loop_scope="module")
async def test_the_join_attack_finds_links_where_there_are_some(
    used: tuple[Stack, History],
) -> None:
    """The same attack on the dump with the links the old schema had put back: the pseudonym
    in answers, deliveries and reactions alike, and one author key on two stories."""
    stack, _ = used
    tables = await dump_tables(stack.runtime.engine)
    linked: Dump = {name: [dict(row) for row in rows] for name, rows in tables.items()}
    answer, delivery = linked["pulse_answers"][0], linked["deliveries"][0]
    answer["respondent"] = delivery["recipient"]
    first, second = linked["anecdotes"][:2]
    second["author_ref"] = first["author_ref"]
    week_two = next(r for r in linked["pulse_answers"] if r["round_id"] != answer["round_id"])
    week_two["respondent"] = answer["respondent"]

    found = {(join.left, join.right) for join in find_joins(linked)}

    assert ("deliveries.recipient", "pulse_answers.respondent") in found
    assert ("anecdotes.author_ref", "anecdotes.author_ref") in found
    assert ("pulse_answers.respondent", "pulse_answers.respondent") in found


@pytest.mark.asyncio(loop_scope="module")
async def test_no_sealed_value_carries_a_time(used: tuple[Stack, History]) -> None:
    stack, _ = used
    tables = await dump_tables(stack.runtime.engine)
    sealed = [row["address"] for row in tables["deliveries"] if row["address"]]
    assert sealed
    assert all(row["author_ref"] for row in tables["anecdotes"])

    assert fernet_times(tables) == []
    # The attack reads the time out of a Fernet token, as the seal before 0007 made them.
    planted = {"deliveries": [{"address": FernetSeal("k" * 40).seal("U0EMP01")}]}
    [(column, when)] = fernet_times(planted)
    assert column == "deliveries.address"
    assert abs(when - datetime.now()) < timedelta(minutes=1)


@pytest.mark.asyncio(loop_scope="module")
async def test_closed_weeks_keep_no_time_finer_than_a_day(used: tuple[Stack, History]) -> None:
    stack, history = used
    tables = await dump_tables(stack.runtime.engine)
    closed = set(history.round_ids[:-1])
    closed_rows = {
        name: [row for row in tables[name] if row.get("round_id") in closed]
        for name in ("pulse_answers", "anecdotes", "reactions", "deliveries")
    }
    closed_rows["person_settings"] = tables["person_settings"]
    closed_rows["teams_conversations"] = tables["teams_conversations"]
    assert closed_rows["pulse_answers"]
    assert closed_rows["deliveries"]

    assert exact_times(closed_rows, closed_rows) == []
    assert all(row["source_id"] is None for row in closed_rows["anecdotes"])
    # The open week still orders its clicks (acted_us): the attack sees it there.
    open_rows = {
        "pulse_answers": [r for r in tables["pulse_answers"] if r["round_id"] not in closed]
    }
    assert {column for column, _ in exact_times(open_rows, open_rows)} == {"pulse_answers.acted_us"}


@pytest.mark.asyncio(loop_scope="module")
async def test_no_column_keeps_a_creation_time(used: tuple[Stack, History]) -> None:
    """deliveries.created_at and reactions.created_at are gone; settings keep the day."""
    stack, _ = used
    tables = await dump_tables(stack.runtime.engine)
    for name in ("deliveries", "reactions", "pulse_answers", "anecdotes"):
        assert not [c for row in tables[name][:1] for c in row if c.endswith("created_at")]
    midnight = datetime.min.time()
    assert all(row["updated_at"].time() == midnight for row in tables["person_settings"])
