"""`/trust-report 12 team=NAME`: a team's own figures, or "too few to show" (also to protect
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

PEOPLE = [f"U0PPL{index:02d}" for index in range(1, 15)]
SALES, SUPPORT = PEOPLE[:7], PEOPLE[7:]
MOVER = SALES[-1]  # in Sales when 2026-W46's prompt went out, in Support right after


@pytest.fixture(autouse=True)
def _weeks_pass_in_milliseconds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slack's one message per second per channel is about real time; here a week passes in
    milliseconds, so the sender need not wait a second before each person's next prompt."""
    monkeypatch.setattr("trustbot.delivery.pacing.PER_CHANNEL_INTERVAL_S", 0.0)


@pytest.fixture
async def stack(engine: AsyncEngine, database_url: str, clock: FixedClock) -> AsyncIterator[Stack]:
    """Fourteen people, seven a team; Sales is a user group, Support a channel (k = 3: a group
    needs 4 answers of 6 asked, and fewer than 3 not answering is a band)."""
    del engine
    async with running_stack(
        database_url,
        clock,
        employees=PEOPLE,
        channels={"C0SUPPORT": list(SUPPORT)},
        TRUSTBOT_TEAMS="Sales=S0SALES,Support=C0SUPPORT",
    ) as running:
        running.emulator.usergroups["S0SALES"] = list(SALES)
        yield running


async def _two_weeks(stack: Stack) -> None:
    stack.clock.now -= timedelta(weeks=2)
    assert (await stack.prompt()).period == "2026-W46"  # rule 1; the mover still in Sales
    stack.emulator.usergroups["S0SALES"].remove(MOVER)
    stack.emulator.channels["C0SUPPORT"].append(MOVER)
    # Sales: 4 of 7 answer (3.5 on average, index 62.5; three did not: exact);
    # Support: 7 of 7 (all 5s: a band, "at least 5 of 7", and an index "at least").
    await stack.answer({SALES[0]: 4, SALES[1]: 4, SALES[2]: 4, MOVER: 2})
    await stack.answer(dict.fromkeys(SUPPORT, 5))
    stack.clock.now += timedelta(weeks=1)
    await stack.runtime.jobs.close()
    assert (await stack.prompt()).period == "2026-W47"  # rule 2; the mover now in Support
    # Sales: 2 of 6 answer (too few); Support: 8 of 8, but Sales = total - Support.
    await stack.answer({SALES[0]: 3, SALES[1]: 3})
    await stack.answer(dict.fromkeys([*SUPPORT, MOVER], 4))
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
    # stays in Sales, where they were when prompted: 4 of 7 and 63, not 3 of 6 (too few).
    assert "the last 12 weeks · team Sales" in sales
    assert re.fullmatch(r"2026-W46\s+#1\s+4/7 57%\s+63\s+75%\s+—", _row(sales, "2026-W46"))
    # Support: all seven answered, which is never shown as such: at least 5 of 7.
    assert re.fullmatch(r"2026-W46\s+#1\s+≥5/7 ≥71%\s+≥87\s+—\s+—", _row(support, "2026-W46"))
    # The headline: the team's shown weeks only (one: no change to show).
    assert "Trust index 63 · 75% favourable · participation 57% (4 answers)" in sales
    # A team report shows no story: a team's story would point at a handful of people.
    assert "No stories shared yet." in sales

    # 2026-W47: Sales had 2 answers: hidden. Support had 8, but the week's total is shown,
    # and total - Support = Sales: hidden too; the total is then its own group, 10 of 14.
    assert re.fullmatch(r"2026-W47\s+#2\s+too few to show", _row(sales, "2026-W47"))
    assert re.fullmatch(r"2026-W47\s+#2\s+too few to show", _row(support, "2026-W47"))
    assert re.match(r"2026-W47\s+#2\s+10/14 71%\s+70\s", _row(whole, "2026-W47"))
    teams = whole.split("Per team, 2026-W47")[1]
    assert re.search(r"Sales\s+too few to show", teams)
    assert re.search(r"Support\s+too few to show", teams)
    for text in (sales, support, whole):
        assert "8/8" not in text
        assert "2/6" not in text
        assert "7/7" not in text
