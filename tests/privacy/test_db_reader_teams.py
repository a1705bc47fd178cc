"""The database reader's attacks after a week of use on Microsoft Teams (signed activities
through the Teams emulator): installations, clicks, stories, the week closing, and `forget` of a
Teams person. Teams stores more per person (where to reach them), so it gets its own run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.privacy.db_reader import (
    as_the_next_clean_up_would,
    dump,
    exact_times,
    fernet_times,
    find_joins,
    raw_bytes,
    record_scrubs,
)
from tests.scenario.test_teams import PEOPLE, TeamsStack, _score_data
from tests.scenario.test_teams import teams as teams_stack  # noqa: F401  (a fixture)
from tests.teams_cards import cards_in
from trustbot.core.erasure import forget_person
from trustbot.db.models import Round

CLICKS = [(PEOPLE[3], 4), (PEOPLE[0], 2), (PEOPLE[4], 5), (PEOPLE[1], 3)]
STORIES = {  # told right after the teller's click; PEOPLE[0] tells two
    PEOPLE[0].aad_object_id: [
        ("Teams named story", "named"),
        ("Teams anonymous story", "anonymous"),
    ],
    PEOPLE[1].aad_object_id: [("Teams private story", "private")],
}


async def _a_week(teams: TeamsStack) -> int:
    for user in PEOPLE:
        assert (await teams.driver.install(user)).status_code == 200
    summary = await teams.prompt()
    assert summary.sent == len(PEOPLE)
    for user, score in CLICKS:
        prompt = teams.prompt_for(user)
        [card] = cards_in(prompt.activity)
        await teams.driver.execute(
            user, verb="trustbot.score", reply_to_id=prompt.id, data=_score_data(card, score)
        )
        for words, visibility in STORIES.get(user.aad_object_id, []):
            await teams.driver.execute(
                user,
                verb="trustbot.story",
                reply_to_id=prompt.id,
                data=dict(card["actions"][0]["data"]),
                inputs={"story": words, "visibility": visibility},
            )
    async with teams.runtime.services.sessions() as session:
        round_id = await session.scalar(select(Round.id).where(Round.period == summary.period))
    assert round_id is not None
    teams.clock.now += timedelta(weeks=1)
    await teams.runtime.jobs.close()
    return round_id


async def test_a_teams_week_leaves_nothing_to_join_or_order(
    teams_stack: TeamsStack,  # noqa: F811  (the fixture imported above)
) -> None:
    teams = teams_stack
    round_id = await _a_week(teams)
    tables = await dump(teams.runtime.engine)
    assert len(tables["pulse_answers"]) == len(CLICKS)
    assert len(tables["anecdotes"]) == 3
    assert len(tables["teams_conversations"]) >= len(PEOPLE)

    assert find_joins(tables) == []
    assert fernet_times(tables) == []
    closed = {
        name: [row for row in tables[name] if row.get("round_id") == round_id]
        for name in ("pulse_answers", "anecdotes", "reactions", "deliveries")
    }
    closed["teams_conversations"] = tables["teams_conversations"]
    assert exact_times(closed, closed) == []


async def test_forgetting_a_teams_person_takes_where_to_reach_them_too(
    teams_stack: TeamsStack,  # noqa: F811  (the fixture imported above)
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    teams = teams_stack
    await _a_week(teams)
    person = PEOPLE[0]
    services, engine = teams.runtime.services, teams.runtime.engine
    key = services.keys.teams_person_key(person.aad_object_id)
    scrubs = record_scrubs(monkeypatch)

    gone = await forget_person(services, user_id=person.aad_object_id, platform="teams")
    await as_the_next_clean_up_would(scrubs)

    assert (gone.answers, gone.stories, gone.conversations) == (1, 2, 1)
    tables = await dump(engine)
    assert key not in {row["key"] for row in tables["teams_conversations"]}
    assert tables["pulse_answers"] == []  # the closed week keeps only its aggregate
    data = await raw_bytes(engine, database_url)
    assert [w for w, _ in STORIES[person.aad_object_id] if w.encode() in data] == []
    assert key.encode() not in data
