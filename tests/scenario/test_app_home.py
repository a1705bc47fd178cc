"""App Home over real HTTP: `app_home_opened` publishes the person's own answers beside the
company's figure; its pause button and language menu change the setting, republish the tab,
and the next prompt follows them; a report viewer also sees the digest."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest

from tests.scenario.conftest import EMPLOYEES, MANAGER, Stack
from trustbot.core.catalogue import score_label
from trustbot.core.people import is_paused, language_of
from trustbot.core.prompts import Actor
from trustbot.db.models import Delivery, DeliveryStatus

E1, E2, E3, E4, E5, E6 = EMPLOYEES


@pytest.fixture(autouse=True)
def _weeks_pass_in_milliseconds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slack's one message per second per channel is about real time; here a week passes in
    milliseconds, so the sender need not wait a second before each person's next prompt."""
    monkeypatch.setattr("trustbot.delivery.pacing.PER_CHANNEL_INTERVAL_S", 0.0)


async def _open_home(stack: Stack, user: str) -> dict[str, Any]:
    """The person opens the app's Home tab; the view the bot publishes for them."""
    published = _publications(stack, user)
    event = {
        "type": "app_home_opened",
        "user": user,
        "channel": stack.emulator.dm_channel_for(user),
        "tab": "home",
        "event_ts": f"{time.time():.6f}",
    }
    response = await stack.driver.send_event(event)
    assert response.status_code == 200
    return await _republished(stack, user, published)


def _publications(stack: Stack, user: str) -> int:
    return sum(
        call.ok and call.args.get("user_id") == user
        for call in stack.emulator.calls_to("views.publish")
    )


async def _republished(stack: Stack, user: str, before: int) -> dict[str, Any]:
    await stack.emulator.wait_for(
        lambda: _publications(stack, user) > before, 10.0, what=f"a home tab for {user}"
    )
    await stack.settle()
    return stack.emulator.home_views[user]


async def _use_home(
    stack: Stack, user: str, action_id: str, *, choose: str | None = None
) -> dict[str, Any]:
    """Click the button (or choose the option `choose` in the menu) `action_id` of the
    person's Home tab, as Slack sends it (a view container, no message); the view republished."""
    view = stack.emulator.home_views[user]
    [(index, element)] = [
        (index, block["accessory"])
        for index, block in enumerate(view["blocks"])
        if block.get("accessory", {}).get("action_id") == action_id
    ]
    action: dict[str, Any] = {
        "type": element["type"],
        "action_id": action_id,
        "block_id": view["blocks"][index].get("block_id", f"home{index}"),
        "action_ts": f"{time.time():.6f}",
    }
    if choose is None:
        action |= {"text": element["text"], "value": element["value"]}
    else:
        [option] = [o for o in element["options"] if o["value"] == choose]
        action |= {"selected_option": option, "initial_option": element["initial_option"]}
    name = stack.emulator.users[user].name
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": name, "name": name, "team_id": stack.driver.team_id},
        "api_app_id": stack.emulator.app_id,
        "token": "emulated-verification-token",
        "container": {"type": "view", "view_id": view["id"]},
        "trigger_id": stack.emulator.new_trigger_id(user),
        "team": {"id": stack.driver.team_id, "domain": stack.emulator.team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": view,
        "state": {"values": {}},
        "actions": [action],
    }
    published = _publications(stack, user)
    response = await stack.driver.send_block_action(payload)
    assert response.status_code == 200
    return await _republished(stack, user, published)


def _lines(view: dict[str, Any]) -> list[str]:
    """Every text of the view, line by line."""
    texts: list[str] = []
    for block in view["blocks"]:
        if "text" in block:
            texts += str(block["text"]["text"]).splitlines()
        texts += [str(e.get("text", "")) for e in block.get("elements", [])]
    return texts


def _week(view: dict[str, Any], period: str) -> str:
    """The home tab's line for a week: what the person answered, and everyone's figure."""
    lines = _lines(view)
    [at] = [index for index, line in enumerate(lines) if line.startswith(f"*{period}*")]
    return lines[at + 1]


async def test_an_employee_sees_their_own_answers_beside_the_company(stack: Stack) -> None:
    stack.clock.now -= timedelta(weeks=3)
    await stack.prompt()  # 2026-W45: k = 3 answers, too few
    await stack.answer({E1: 2, E2: 4, E3: 4})
    await stack.next_week()
    await stack.prompt()  # 2026-W46: k + 1 answers
    await stack.answer({E1: 2, E2: 4, E3: 4, E4: 4})
    await stack.next_week()
    await stack.prompt()  # 2026-W47: five answers, nearly all 5s
    await stack.answer({E1: 5, E2: 5, E3: 5, E4: 5, E5: 3})
    await stack.next_week()
    await stack.prompt()  # 2026-W48: open
    await stack.answer({E1: 1, E2: 2, E3: 3})

    mine = await _open_home(stack, E1)

    assert _lines(mine)[0] == "Your trust pulse"
    assert "at least 4 answers from at least 6 people asked" in json.dumps(mine)
    assert _week(mine, "2026-W48") == f"You: 1 – {score_label(1, 'en')} · the round is open"
    # 23 / 5: index 90, shown at a band's top as "at least 75" (one 3 among 5s gives it too).
    assert _week(mine, "2026-W47") == f"You: 5 – {score_label(5, 'en')} · everyone: index ≥75"
    assert _week(mine, "2026-W46") == f"You: 2 – {score_label(2, 'en')} · everyone: index 60"
    assert _week(mine, "2026-W45") == (
        f"You: 2 – {score_label(2, 'en')} · everyone: too few to show"
    )
    assert "2026-W44" not in json.dumps(mine)  # no round that week
    assert "Trust digest" not in json.dumps(mine)  # not a report viewer
    # Someone else's tab: their own answers only, and the company's figures exactly as E1's
    # (whether or not the reader answered, the same threshold).
    theirs = await _open_home(stack, E6)
    assert _week(theirs, "2026-W45") == "You: not answered · everyone: too few to show"
    assert _week(theirs, "2026-W46") == "You: not answered · everyone: index 60"
    assert _week(theirs, "2026-W47") == "You: not answered · everyone: index ≥75"
    assert _week(await _open_home(stack, E2), "2026-W48") == (
        f"You: 2 – {score_label(2, 'en')} · the round is open"
    )


async def test_a_report_viewer_also_sees_the_digest_as_it_stands(stack: Stack) -> None:
    stack.clock.now -= timedelta(weeks=1)
    await stack.prompt()
    await stack.answer({E1: 4, E2: 4, E3: 5, E4: 2})  # 15 / 4: 68.75, to the nearest 10
    await stack.next_week()

    home = await _open_home(stack, MANAGER)

    lines = _lines(home)
    assert "Your trust pulse" in lines
    digest = lines[lines.index("Trust digest, 2026-W47") :]
    assert any(line.startswith("*Trust index 70 · participation ≥66%") for line in digest)
    assert len(home["blocks"]) <= 100
    assert "Trust digest" not in json.dumps(await _open_home(stack, E1))


async def test_pausing_and_resuming_from_the_home_tab_steers_the_next_prompt(
    stack: Stack,
) -> None:
    await stack.prompt()
    home = await _open_home(stack, E1)
    assert "You get the weekly prompt." in _lines(home)

    home = await _use_home(stack, E1, "home_pause")

    assert "Your weekly prompts are paused." in _lines(home)
    [button] = [b["accessory"] for b in home["blocks"] if b.get("accessory", {}).get("value")]
    assert (button["value"], button["text"]["text"]) == ("resume", "Resume prompts")
    assert await is_paused(stack.services, actor=Actor("slack", E1))
    await stack.next_week()
    summary = await stack.prompt()  # 2026-W49
    assert (summary.paused, summary.sent) == (1, 5)
    assert len(stack.emulator.messages_in(E1)) == 1  # still only last week's prompt

    home = await _use_home(stack, E1, "home_pause")  # now "Resume prompts"

    assert "You get the weekly prompt." in _lines(home)
    assert not await is_paused(stack.services, actor=Actor("slack", E1))
    summary = await stack.prompt()  # the same week again: E1 is due now
    assert (summary.paused, summary.sent) == (0, 1)
    assert len(stack.emulator.messages_in(E1)) == 2


async def test_choosing_danish_in_the_home_tab_changes_it_and_the_next_prompt(
    stack: Stack,
) -> None:
    await stack.prompt()
    await _open_home(stack, E1)

    home = await _use_home(stack, E1, "home_language", choose="da")

    assert _lines(home)[0] == "Din tillidspuls"
    assert "Du får ugens spørgsmål." in _lines(home)
    [menu] = [b["accessory"] for b in home["blocks"] if b.get("accessory", {}).get("options")]
    assert menu["initial_option"]["value"] == "da"
    assert await language_of(stack.services, actor=Actor("slack", E1)) == "da"
    await stack.next_week()
    await stack.prompt()
    assert "Hvor godt levede vi denne regel" in json.dumps(stack.prompt_for(E1).blocks)
    assert "How well did we live this rule" in json.dumps(stack.prompt_for(E2).blocks)
    sent = await stack.count_where(Delivery, Delivery.status == DeliveryStatus.SENT)
    assert sent == 2 * len(EMPLOYEES)

    home = await _use_home(stack, E1, "home_language", choose="en")

    assert _lines(home)[0] == "Your trust pulse"
