"""A database reader without the key after `trustbot forget` and the retention purge: nothing
left to subtract from an aggregate, no delivery gap, no deleted bytes in the database files
(SQLite's file and -wal; PostgreSQL's table and index pages, read with pageinspect), and an
export that gives nobody away."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import make_settings
from tests.factories import handle
from tests.privacy.db_reader import (
    STORIES,
    History,
    as_the_next_clean_up_would,
    dump,
    fernet_times,
    find_joins,
    raw_bytes,
    record_scrubs,
    used_fixture,  # noqa: F401  (the fixture `used`)
)
from tests.scenario.conftest import EMPLOYEES, Stack
from trustbot.administration import export_files
from trustbot.core.aggregates import WHOLE
from trustbot.core.erasure import forget_person
from trustbot.core.export import exported_aggregates
from trustbot.db.models import Round, RoundAggregate

E1, E2, E3, E4, E5, E6 = EMPLOYEES


async def test_forget_leaves_nothing_to_subtract_and_no_bytes_behind(
    used: tuple[Stack, History], database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, history = used
    services, engine = stack.services, stack.runtime.engine
    before = await dump(engine)
    e1_stories = [text for stories in STORIES.values() for a, text, _ in stories if a == E1]
    e1_handles = [
        handle(services, purpose, E1, round_id)
        for purpose in ("answer", "delivery", "reaction")
        for round_id in history.round_ids
    ]
    stored = await raw_bytes(engine, database_url)
    assert all(text.encode() in stored for text in e1_stories)

    scrubs = record_scrubs(monkeypatch)
    gone = await forget_person(services, user_id=E1, platform="slack")
    await as_the_next_clean_up_would(scrubs)

    assert (gone.answers, gone.stories) == (4, len(e1_stories))
    assert gone.closed_rounds == 3  # E1 answered in every closed week
    after = await dump(engine)
    closed = set(history.round_ids[:-1])
    # Closed weeks keep their aggregates, unchanged, and nothing raw to difference them with:
    # no answer, reaction, delivery (no gap in an audience) or private story of anyone.
    assert after["round_aggregates"] == before["round_aggregates"]
    for table in ("pulse_answers", "reactions", "deliveries"):
        assert not [row for row in after[table] if row.get("round_id") in closed], table
    assert not [
        row
        for row in after["anecdotes"]
        if row["round_id"] in closed and row["visibility"] == "private"
    ]
    # Others' shared stories stay; the open week lost E1's rows only.
    kept = {row["text"] for row in after["anecdotes"]}
    assert {"E3 named", "E5 anonymous", "E2 named, open"} <= kept
    assert not kept & set(e1_stories)
    open_answers = [r for r in after["pulse_answers"] if r["round_id"] == history.round_ids[-1]]
    assert len(open_answers) == 2  # E3 and E2
    assert find_joins(after) == []
    # What a copy of the files holds: not E1's stories, not one of E1's handles.
    data = await raw_bytes(engine, database_url)
    assert [text for text in e1_stories if text.encode() in data] == []
    assert [value for value in e1_handles if value.encode() in data] == []


async def test_the_byte_attack_finds_what_is_still_stored(
    used: tuple[Stack, History], database_url: str
) -> None:
    """The same search of the files finds a story that is still there, and its author's
    answer handle."""
    stack, history = used
    data = await raw_bytes(stack.runtime.engine, database_url)
    assert b"E5 anonymous" in data
    assert handle(stack.services, "answer", E5, history.round_ids[0]).encode() in data


async def test_retention_leaves_no_raw_rows_or_bytes_of_old_weeks(
    used: tuple[Stack, History], database_url: str
) -> None:
    stack, history = used
    engine = stack.runtime.engine
    old = history.round_ids[0]
    old_handles = [
        handle(stack.services, purpose, user, old)
        for purpose in ("answer", "reaction", "delivery")
        for user in EMPLOYEES
    ]
    stack.clock.now += timedelta(weeks=stack.services.settings.retention_weeks + 2)
    await stack.runtime.jobs.close()

    tables = await dump(engine)
    for table in ("pulse_answers", "reactions", "deliveries"):
        assert not [row for row in tables[table] if row.get("round_id") == old], table
    assert [row for row in tables["round_aggregates"] if row["round_id"] == old]
    assert find_joins(tables) == []
    assert fernet_times(tables) == []
    data = await raw_bytes(engine, database_url)
    assert [value for value in old_handles if value.encode() in data] == []


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle_:
        return list(csv.DictReader(handle_))


async def test_an_export_after_forget_has_no_answers_of_the_weeks_that_lost_someone(
    used: tuple[Stack, History], database_url: str, tmp_path: Path
) -> None:
    """Before: each closed week's answers, as many as its aggregate counts. After forgetting
    E4, who got every week's prompt: the aggregates unchanged, and no answers at all."""
    stack, history = used
    settings = make_settings(database_url, TRUSTBOT_MIN_GROUP_SIZE="3")
    await export_files(settings, tmp_path / "before")
    await forget_person(stack.services, user_id=E4, platform="slack")
    await export_files(settings, tmp_path / "after")

    async with stack.services.sessions() as session:
        periods = dict((await session.execute(select(Round.id, Round.period))).tuples().all())
        whole = dict(
            (
                await session.execute(
                    select(RoundAggregate.round_id, RoundAggregate.answered).where(
                        RoundAggregate.team == WHOLE
                    )
                )
            )
            .tuples()
            .all()
        )
    # Before: the answers of each closed week shown exactly (where at least k did not answer:
    # a band's raw answers would count who answered), as many as its aggregate counts.
    _, _, exact = await exported_aggregates(stack.services)
    answered = Counter(row["period"] for row in _read(tmp_path / "before" / "answers.csv"))
    assert answered == {periods[r]: whole[r] for r in history.round_ids[:-1] if r in exact}
    assert _read(tmp_path / "after" / "answers.csv") == []
    assert _read(tmp_path / "after" / "aggregates.csv") == _read(
        tmp_path / "before" / "aggregates.csv"
    )
