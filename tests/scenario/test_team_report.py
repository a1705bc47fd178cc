"""`/trust-report 12 team=NAME`: a team's own figures, or "not enough answers" (also to protect
a smaller team from subtraction); a person's team is the one they were in when prompted."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FixedClock
from tests.scenario.conftest import MANAGER, Stack, running_stack

PEOPLE = [f"U0PPL{index:02d}" for index in range(1, 10)]
E1, E2, E3, E4, E5, E6, E7, E8, E9 = PEOPLE
MOVER = E4  # in Sales when 2026-W46's prompt went out, in Support right after


@pytest.fixture(autouse=True)
def _weeks_pass_in_milliseconds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slack's one message per second per channel is about real time; here a week passes in
    milliseconds, so the sender need not wait a second before each person's next prompt."""
    monkeypatch.setattr("trustbot.delivery.pacing.PER_CHANNEL_INTERVAL_S", 0.0)


@pytest.fixture
async def stack(engine: AsyncEngine, database_url: str, clock: FixedClock) -> AsyncIterator[Stack]:
    """Nine people; Sales is a user group, Support a channel (k = 3)."""
    del engine
    async with running_stack(
        database_url,
        clock,
        employees=PEOPLE,
        channels={"C0SUPPORT": [E5, E6, E7, E8, E9]},
        TRUSTBOT_TEAMS="Sales=S0SALES,Support=C0SUPPORT",
    ) as running:
        running.emulator.usergroups["S0SALES"] = [E1, E2, E3, E4]
        yield running


async def _two_weeks(stack: Stack) -> None:
    stack.clock.now -= timedelta(weeks=2)
    assert (await stack.prompt()).period == "2026-W46"  # rule 1; the mover still in Sales
    stack.emulator.usergroups["S0SALES"].remove(MOVER)
    stack.emulator.channels["C0SUPPORT"].append(MOVER)
    # Sales: 4 of 4 answer (3.5 on average, index 62.5); Support: 3 of 5 (all 5s, index 100).
    await stack.answer({E1: 4, E2: 4, E3: 4, MOVER: 2, E5: 5, E6: 5, E7: 5})
    stack.clock.now += timedelta(weeks=1)
    await stack.runtime.jobs.close()
    assert (await stack.prompt()).period == "2026-W47"  # rule 2; the mover now in Support
    # Sales: 2 of 3 answer (too few); Support: 6 of 6, but Sales = total - Support.
    await stack.answer({E1: 3, E2: 3, MOVER: 4, E5: 4, E6: 4, E7: 4, E8: 4, E9: 4})
    stack.clock.now += timedelta(weeks=1)
    await stack.runtime.jobs.close()


async def _report(stack: Stack, text: str) -> str:
    before = len(stack.emulator.responses)
    response = await stack.driver.send_command(user_id=MANAGER, text=text)
    assert response.status_code == 200
    await stack.emulator.wait_for(lambda: len(stack.emulator.responses) > before)
    body: dict[str, Any] = stack.emulator.responses[before]["body"]
    assert body["response_type"] == "ephemeral"
    return "\n".join(_texts(body.get("blocks", [])))


def _texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every text in the blocks: sections and headers, and context elements."""
    texts = []
    for block in blocks:
        if "text" in block:
            texts.append(str(block["text"].get("text", "")))
        texts += [str(element.get("text", "")) for element in block.get("elements", [])]
    return texts


def _row(text: str, period: str) -> str:
    [row] = [line for line in text.splitlines() if line.startswith(period)]
    return row


async def test_team_reports_show_enough_answers_hide_too_few_and_keep_movers_in_place(
    stack: Stack,
) -> None:
    await _two_weeks(stack)

    sales = await _report(stack, "12 team=Sales")
    support = await _report(stack, "12 team=support")  # any case
    whole = await _report(stack, "12")

    # 2026-W46: both teams had enough answers, and show their own figures. The mover's answer
    # stays in Sales, where they were when prompted: 4/4 and 62, not 3/3 and 75 (and Support
    # stays 3/5 and 100, not 4/6 and 81).
    assert "the last 12 weeks · team Sales" in sales
    assert re.fullmatch(r"2026-W46\s+#1\s+4/4 100%\s+62\s+75%\s+0", _row(sales, "2026-W46"))
    assert re.fullmatch(r"2026-W46\s+#1\s+3/5 60%\s+100\s+100%\s+0", _row(support, "2026-W46"))
    # The headline: the team's shown weeks only (one: no change to show).
    assert "Trust index 62 · 75% favourable · participation 100% (4 answers)" in sales
    # A team report shows no story: a team's story would point at a handful of people.
    assert "No stories shared yet." in sales

    # 2026-W47: Sales had 2 answers: hidden. Support had 6, but the week's total (8/9) is
    # shown, and total - Support = Sales: hidden too.
    assert re.fullmatch(r"2026-W47\s+#2\s+not enough answers", _row(sales, "2026-W47"))
    assert re.fullmatch(r"2026-W47\s+#2\s+not enough answers", _row(support, "2026-W47"))
    assert re.match(r"2026-W47\s+#2\s+8/9 89%\s+69\s", _row(whole, "2026-W47"))
    teams = whole.split("Per team, 2026-W47")[1]
    assert re.search(r"Sales\s+not enough answers", teams)
    assert re.search(r"Support\s+not enough answers", teams)
    for text in (sales, support, whole):
        assert "6/6" not in text
        assert "2/3" not in text
