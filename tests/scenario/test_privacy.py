"""What an administrator with database access can learn, tried: no column, value or join ties a
person, a named story, or a DM to a pseudonymous answer."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import inspect, select, text

from tests.scenario.conftest import EMPLOYEES, MANAGER, Stack
from trustbot.db.base import Base
from trustbot.db.models import Anecdote, PulseAnswer

# Round-level keys that every table of a round shares on purpose: they say "which week".
# A team is a group label shared by many people on purpose (figures per team).
ROUND_KEYS = {"round_id", "rule_id", "id", "period", "kind", "platform", "seq", "status", "team"}


async def _everything(stack: Stack) -> None:
    """A week of use: prompts, answers changed, stories of each kind, reactions, a pause, a
    reminder, the report, and the week closing."""
    stack.clock.now -= timedelta(weeks=1)
    await stack.prompt()
    for index, user in enumerate(EMPLOYEES):
        for score in (2, 4 if index % 2 else 5):
            await stack.driver.click_button(
                user_id=user, message=stack.prompt_for(user), action_id=f"pulse_score:{score}"
            )
        await stack.driver.react(user_id=user, message=stack.prompt_for(user), reaction="heart")
    await stack.share_story(EMPLOYEES[0], "Anna fixed the router.", "named")
    await stack.share_story(EMPLOYEES[1], "A quiet hero.", "anonymous")
    await stack.share_story(EMPLOYEES[2], "Just for the count.", "private")
    await stack.driver.send_command(user_id=EMPLOYEES[3], command="/trust-prompts", text="pause")
    await stack.driver.send_command(user_id=MANAGER, text="4")
    await stack.settle()
    stack.clock.now += timedelta(weeks=1)
    await stack.runtime.jobs.close()


async def _dump(stack: Stack) -> dict[str, list[dict[str, Any]]]:
    async with stack.services.sessions() as session:
        tables: dict[str, list[dict[str, Any]]] = {}
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(select(table))).mappings().all()
            tables[table.name] = [dict(row) for row in rows]
        return tables


def _values(rows: Iterable[dict[str, Any]], column: str) -> set[str]:
    return {str(row[column]) for row in rows if row[column] not in (None, "", 0)}


async def test_no_user_id_or_dm_address_is_stored_except_a_name_shared_by_choice(
    stack: Stack,
) -> None:
    await _everything(stack)
    tables = await _dump(stack)
    people = set(EMPLOYEES) | {MANAGER}
    dms = {stack.emulator.dm_channel_for(user) for user in people}
    timestamps = {message.ts for message in stack.emulator.messages}

    found = []
    for name, rows in tables.items():
        for row in rows:
            for column, value in row.items():
                text_value = str(value)
                if name == "anecdotes" and column == "author_user_id":
                    continue  # the one place, by the author's choice (a CHECK constraint)
                if any(secret in text_value for secret in people | dms | timestamps):
                    found.append((name, column))
    assert found == []
    named = [row for row in tables["anecdotes"] if row["author_user_id"] is not None]
    assert [row["author_user_id"] for row in named] == [EMPLOYEES[0]]


async def test_no_value_joins_a_story_or_a_setting_to_an_answer(stack: Stack) -> None:
    """Every column of anecdotes, person_settings and deliveries' sealed parts against every
    column of pulse_answers: no shared value beyond the week itself."""
    await _everything(stack)
    tables = await _dump(stack)
    answers = tables["pulse_answers"]
    answer_columns = [c for c in answers[0] if c not in ROUND_KEYS]
    answer_values = {column: _values(answers, column) for column in answer_columns}

    joins = []
    for name in ("anecdotes", "person_settings", "round_aggregates", "leases", "job_runs"):
        rows = tables[name]
        for column in rows[0] if rows else []:
            if column in ROUND_KEYS:
                continue
            mine = {v for v in _values(rows, column) if len(v) > 2}
            for other, theirs in answer_values.items():
                if mine & {v for v in theirs if len(v) > 2}:
                    joins.append((f"{name}.{column}", f"pulse_answers.{other}"))
    assert joins == []
    # The pseudonym answers carry is not the handle a story carries, nor a setting's.
    respondents = _values(answers, "respondent")
    assert respondents.isdisjoint(_values(tables["anecdotes"], "author_ref"))
    assert respondents.isdisjoint(_values(tables["person_settings"], "subject"))


async def test_neither_stories_nor_answers_keep_a_time(stack: Stack) -> None:
    await _everything(stack)
    columns = {
        table: {column["name"] for column in columns}
        for table, columns in (
            ("anecdotes", await _columns(stack, "anecdotes")),
            ("pulse_answers", await _columns(stack, "pulse_answers")),
        )
    }

    assert not any("at" in name.split("_")[-1:] for name in columns["anecdotes"])
    assert columns["pulse_answers"] == {
        "round_id",
        "respondent",
        "team",
        "score",
        "acted_us",
        "revision",
    }
    async with stack.services.sessions() as session:
        # Once the round has closed, not even the order of clicks is kept.
        assert set(await session.scalars(select(PulseAnswer.acted_us))) == {0}
        assert await session.scalar(select(Anecdote.id).limit(1)) is not None


async def _columns(stack: Stack, table: str) -> list[dict[str, Any]]:
    async with stack.runtime.engine.connect() as connection:
        return await connection.run_sync(lambda sync: inspect(sync).get_columns(table))


async def test_a_sealed_address_needs_the_key(stack: Stack) -> None:
    await stack.prompt()
    async with stack.services.sessions() as session:
        sealed = list(await session.scalars(text("SELECT address FROM deliveries")))
    assert sealed
    assert all(value and value not in EMPLOYEES for value in sealed)
    assert sorted(stack.services.keys.seal.open(value) for value in sealed) == sorted(EMPLOYEES)
