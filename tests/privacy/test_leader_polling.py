"""A curious leader polls every surface while the week is open, after each answer and each
story, to time who answered and who told which story: nothing they read changes until the week
has closed. On a weakened rule (stories of an open week shown), the poll sees a story appear.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.privacy.leader import DEV, OPS, TEAMS_LEADER, TEAMS_PEOPLE, Company
from trustbot.core import reports as reports_module

STORY = "Ida untangled the router before anyone asked"


async def _poll_through_the_week(firm: Company) -> list[dict[str, str]]:
    """Last week closed with figures; this week's answers and stories arrive one by one,
    and after each the leader reads everything."""
    firm.clock.now -= timedelta(weeks=1)
    await firm.prompt()
    await firm.answer([*((p, 4) for p in DEV[:5]), *((p, 3) for p in OPS[:5])])
    await firm.next_week()
    await firm.prompt()  # this week: open
    polls = [await firm.everything()]
    for step in (
        lambda: firm.answer([(p, 5) for p in DEV[:4]]),
        lambda: firm.tell(DEV[0], STORY, "anonymous"),
        lambda: firm.answer([(p, 1) for p in OPS[:4]]),
        lambda: firm.tell(TEAMS_PEOPLE[0], "Told on Teams, named", "named"),
        lambda: firm.answer([(TEAMS_LEADER, 2), *((p, 3) for p in TEAMS_PEOPLE)]),
    ):
        await step()
        polls.append(await firm.everything())
    return polls


async def test_polling_an_open_week_shows_nothing_until_it_closes(firm: Company) -> None:
    polls = await _poll_through_the_week(firm)

    assert all(poll == polls[0] for poll in polls[1:])
    assert "open" in polls[0]["slack /trust-report "]
    assert STORY not in str(polls)
    await firm.next_week()  # closed: its figures and its stories appear
    closed = await firm.everything()
    assert STORY in closed["slack /trust-report "]
    assert "2026-W48  #2" in closed["slack /trust-report "]


async def test_the_poll_sees_a_story_appear_on_a_weakened_rule(
    firm: Company, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        reports_module, "story_round_ids", lambda report, rounds: [r.id for r in rounds]
    )

    polls = await _poll_through_the_week(firm)

    changed = [number for number, poll in enumerate(polls) if poll != polls[0]]
    assert changed
    assert STORY in polls[changed[0]]["slack /trust-report "]
