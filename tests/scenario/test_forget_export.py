"""`trustbot forget` and `trustbot export` as an operator runs them: real processes, over four
weeks of real use (prompts, signed clicks, stories, reactions, a pause) on either database."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import TEST_KEY, FixedClock, make_settings
from tests.factories import by_user
from tests.scenario.conftest import EMPLOYEES, Stack, running_stack
from tests.scenario.processes import base_env, trustbot
from trustbot.administration import export_files, forget_text
from trustbot.db.base import Base
from trustbot.db.models import RoundAggregate

E1, E2, E3, E4, E5, E6 = EMPLOYEES
SILENT = [f"U0SILENT{index}" for index in range(1, 5)]  # asked every week, in no team, silent
SALES, SUPPORT = [E1, E2, E3], [E4, E5, E6]
TEAMS = "Sales=S0SALES,Support=S0SUPPORT"
TOO_FEW = "too few to show"

# Four weeks of ten people asked, k = 3 (TRUSTBOT_MIN_GROUP_SIZE in the scenario stack: a
# group needs 4 answers of 6 asked); a team of three is never shown on its own:
#   W45: two answers             -> hidden week, its story never shown
#   W46: six answers             -> the week shown, exact (four did not answer)
#   W47: four answers (2 + 2)    -> the week shown, exact
#   W48: still open              -> nothing exported
SCORES = {
    "2026-W45": {E1: 2, E2: 3},
    "2026-W46": {E1: 1, E2: 4, E3: 4, E4: 5, E5: 5, E6: 3},
    "2026-W47": {E1: 2, E2: 5, E4: 4, E5: 3},
    "2026-W48": {E1: 3, E2: 3, E3: 3, E4: 3},
}
STORIES = {  # (author, text, sharing)
    "2026-W45": [(E2, "Hidden week story", "anonymous")],
    "2026-W46": [
        (E1, "Named story from Sales", "named"),
        (E2, "Anonymous story, with a comma", "anonymous"),
        (E3, "Private story for the count", "private"),
    ],
    "2026-W47": [(E1, "E1 told this one anonymously", "anonymous")],
    "2026-W48": [(E4, "Open week story", "named")],
}


@pytest.fixture(autouse=True)
def _weeks_pass_in_milliseconds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slack's one message per second per channel is about real time; here a week passes in
    milliseconds, so the sender need not wait a second before each person's next prompt."""
    monkeypatch.setattr("trustbot.delivery.pacing.PER_CHANNEL_INTERVAL_S", 0.0)


async def _four_weeks(stack: Stack) -> None:
    stack.emulator.usergroups["S0SALES"] = list(SALES)
    stack.emulator.usergroups["S0SUPPORT"] = list(SUPPORT)
    stack.clock.now -= timedelta(weeks=3)
    for week, (period, scores) in enumerate(SCORES.items()):
        summary = await stack.prompt()
        assert summary.period == period
        for user, score in scores.items():
            await stack.driver.click_button(
                user_id=user, message=stack.prompt_for(user), action_id=f"pulse_score:{score}"
            )
        for author, words, sharing in STORIES[period]:
            await stack.share_story(author, words, sharing)
        if period == "2026-W46":
            for user in (E1, E4):
                await stack.driver.react(
                    user_id=user, message=stack.prompt_for(user), reaction="tada"
                )
            for user, word in ((E1, "pause"), (E1, "resume"), (E5, "pause"), (E5, "resume")):
                await stack.driver.send_command(user_id=user, command="/trust-prompts", text=word)
                await stack.settle()
        await stack.settle()
        if week < 3:
            stack.clock.now += timedelta(weeks=1)
            await stack.runtime.jobs.close()


async def _history(engine: AsyncEngine, database_url: str, clock: FixedClock) -> Stack:
    del engine  # emptied before the bot starts
    employees = [*EMPLOYEES, *SILENT]
    async with running_stack(
        database_url, clock, employees=employees, TRUSTBOT_TEAMS=TEAMS
    ) as stack:
        await _four_weeks(stack)
    return stack  # closed: only its services' key functions are used afterwards


def _env(database_url: str) -> dict[str, str]:
    return base_env(
        TRUSTBOT_DATABASE_URL=database_url,
        TRUSTBOT_PSEUDONYM_KEY=TEST_KEY,
        TRUSTBOT_MIN_GROUP_SIZE="3",  # as the scenario stack
    )


async def _rows(database_url: str) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows but the installation's (the first command stores the key's fingerprint
    there), read through a fresh engine: the CLI wrote them, not this process."""
    from trustbot.db.session import create_engine

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows: dict[str, list[dict[str, Any]]] = {}
            for table in Base.metadata.sorted_tables:
                if table.name != "installation":
                    result = await connection.execute(select(table))
                    rows[table.name] = [dict(row) for row in result.mappings()]
            return rows
    finally:
        await engine.dispose()


def _mine(stack: Stack, user: str, tables: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """How many rows of each kind belong to `user`, found by the keys the key makes."""
    services = stack.services
    rounds = [r["id"] for r in tables["rounds"]]

    def handles(purpose: str) -> set[str]:
        return set(by_user(services, purpose, [user], rounds))

    def authored(row: dict[str, Any]) -> bool:
        opened = services.keys.author_seal.open(row["author_ref"])
        return opened == services.keys.pseudonym(user, "slack") or row["author_user_id"] == user

    return {
        "answers": sum(r["respondent"] in handles("answer") for r in tables["pulse_answers"]),
        "stories": sum(authored(r) for r in tables["anecdotes"]),
        "deliveries": sum(r["recipient"] in handles("delivery") for r in tables["deliveries"]),
        "reactions": sum(r["reactor"] in handles("reaction") for r in tables["reactions"]),
        "settings": sum(
            r["subject"] == services.keys.settings_subject(user, "slack")
            for r in tables["person_settings"]
        ),
    }


async def test_forget_erases_one_persons_rows_and_nothing_else(
    engine: AsyncEngine, database_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    stack = await _history(engine, database_url, clock)
    before = await _rows(database_url)
    assert _mine(stack, E1, before) == {
        "answers": 4,
        "stories": 2,  # one named, one anonymous (found by its per-round author key)
        "deliveries": 4,
        "reactions": 1,
        "settings": 1,
    }
    others = {user: _mine(stack, user, before) for user in EMPLOYEES[1:]}

    code, out, err = await trustbot("forget", E1, env=_env(database_url), cwd=tmp_path)

    assert code == 0, err
    assert out.strip().startswith(
        f"forgot {E1}: 4 answers, 2 stories, 4 deliveries, 1 reactions, 1 settings; "
        "3 closed weeks keep only their aggregates"
    )
    after = await _rows(database_url)
    assert _mine(stack, E1, after) == dict.fromkeys(_mine(stack, E1, before), 0)
    # E1 was in the three closed weeks: each keeps its aggregate (unchanged) and the stories
    # others shared, and nothing else raw that the aggregate could be differenced against.
    open_round = next(r["id"] for r in before["rounds"] if r["closed_at"] is None)
    for table in ("pulse_answers", "reactions", "deliveries"):
        kept = [row for row in after[table] if row["round_id"] is not None]
        assert {row["round_id"] for row in kept} <= {open_round}, table
    # The open week simply lost E1's rows: everyone else's are the very same rows.
    for table, purpose in (
        ("pulse_answers", "answer"),
        ("deliveries", "delivery"),
        ("reactions", "reaction"),
    ):
        still = [row for row in before[table] if row["round_id"] == open_round]
        mine = set(by_user(stack.services, purpose, [E1], [open_round]))
        assert [row for row in after[table] if row["round_id"] == open_round] == [
            row for row in still if not set(row.values()) & mine
        ], table
    assert after[RoundAggregate.__tablename__] == before[RoundAggregate.__tablename__]
    assert after["rounds"] == before["rounds"]
    assert {row["text"] for row in after["anecdotes"]} == {
        "Hidden week story",
        "Anonymous story, with a comma",
        "Open week story",
    }  # E3's private story went with W46's raw rows: the aggregate's count stays
    assert others[E5]["settings"] == _mine(stack, E5, after)["settings"] == 1


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


async def test_export_applies_the_threshold_and_names_no_one(
    engine: AsyncEngine, database_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    stack = await _history(engine, database_url, clock)
    out_dir = tmp_path / "export"

    code, out, err = await trustbot(
        "export", "--out", str(out_dir), env=_env(database_url), cwd=tmp_path
    )

    assert code == 0, err
    assert f"{out_dir / 'aggregates.csv'}: 12 rows" in out
    aggregates = _read(out_dir / "aggregates.csv")
    by_key = {(row["period"], row["team"]): row for row in aggregates}
    assert sorted(by_key) == [
        (period, team)
        for period in ("2026-W45", "2026-W46", "2026-W47")
        for team in ("", "-", "Sales", "Support")
    ]  # the open week W48 is not exported at all
    hidden = [key for key, row in by_key.items() if row["answered_at_least"] == ""]
    assert sorted(hidden) == [
        ("2026-W45", team) for team in ("", "-", "Sales", "Support")
    ] + [  # teams of three or four asked: never shown on their own
        (period, team) for period in ("2026-W46", "2026-W47") for team in ("-", "Sales", "Support")
    ]
    for key in hidden:  # not one figure of a hidden group
        row = by_key[key]
        assert row["answered"] == TOO_FEW, key
        assert [row[column] for column in list(row)[4:]] == [""] * 11, key
    w46 = by_key[("2026-W46", "")]
    assert (w46["answered"], w46["delivered"], w46["trust_index"]) == ("6", "10", "67")
    assert (w46["participation"], w46["participation_at_least"]) == ("60%", "60%")
    assert (w46["favourable"], w46["neutral"], w46["unfavourable"]) == ("67%", "17%", "17%")
    assert (w46["reactions"], w46["stories"]) == ("2", "3")  # a private story is counted
    w47 = by_key[("2026-W47", "")]
    assert (w47["answered"], w47["trust_index"]) == ("4", "63")  # 14 / 4 = 3.5: 62.5

    answers = Counter((row["period"], row["score"]) for row in _read(out_dir / "answers.csv"))
    expected = Counter(
        (period, str(score))
        for period in ("2026-W46", "2026-W47")  # W45 is hidden, W48 is open; both exact
        for score in SCORES[period].values()
    )
    assert answers == expected
    assert list(_read(out_dir / "answers.csv")[0]) == ["period", "rule", "score"]

    stories = [
        (row["period"], row["shared"], row["author_user_id"], row["text"])
        for row in _read(out_dir / "stories.csv")
    ]
    assert stories == [  # by week, then by text: no order of telling
        ("2026-W46", "anonymous", "", "Anonymous story, with a comma"),
        ("2026-W46", "named", E1, "Named story from Sales"),
        ("2026-W47", "anonymous", "", "E1 told this one anonymously"),
    ]

    # No pseudonym, settings key, story key or DM address in any file; a user id only where
    # its author chose to share their name.
    services = stack.services
    handles = {services.keys.pseudonym(user, "slack") for user in EMPLOYEES}
    handles |= {services.keys.settings_subject(user, "slack") for user in EMPLOYEES}
    handles |= {stack.emulator.dm_channel_for(user) for user in EMPLOYEES}
    for path in sorted(out_dir.iterdir()):
        content = path.read_text(encoding="utf-8")
        assert not [handle for handle in handles if handle in content], path.name
        named = content.count(E1) if path.name == "stories.csv" else 0
        assert sum(content.count(user) for user in EMPLOYEES) == named, path.name


async def test_an_unknown_id_removes_nothing_and_export_after_forget_gives_nobody_away(
    engine: AsyncEngine, database_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    """Aggregates keep counting a forgotten person. Had their raw answers simply gone from
    answers.csv, a week's aggregate minus the answers left would be their score.

    (The commands' functions run in this process: the tests above run them as processes.)"""
    await _history(engine, database_url, clock)
    settings = make_settings(database_url, TRUSTBOT_MIN_GROUP_SIZE=3)
    before = await _rows(database_url)
    # Someone the database does not know: nothing removed, and the operator is told so.
    assert await forget_text(settings, "U0NOBODY", platform="slack") == (
        "nothing stored for U0NOBODY: no answers, stories, deliveries, reactions or settings "
        "(nothing was removed)"
    )
    assert await _rows(database_url) == before
    said = await forget_text(settings, E3, platform="slack")
    assert said.startswith(f"forgot {E3}: 2 answers")  # W46, W48
    assert "3 closed weeks keep only their aggregates" in said  # E3 was prompted in each

    await export_files(settings, tmp_path)

    aggregates = {
        row["period"]: row for row in _read(tmp_path / "aggregates.csv") if row["team"] == ""
    }
    assert aggregates["2026-W46"]["answered"] == "6"  # still counted, as docs/privacy.md says
    # Every closed week lost a member (E3 got each week's prompt): none has raw answers left,
    # so none can be differenced against its aggregate, and answers.csv is empty.
    assert _read(tmp_path / "answers.csv") == []
