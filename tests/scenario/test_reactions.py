"""Emoji reactions on a prompt count as engagement in its round."""

from __future__ import annotations

from tests.scenario.conftest import EMPLOYEES, Stack
from trustbot.db.models import Reaction


async def test_reactions_on_a_prompt_are_counted_and_uncounted(stack: Stack) -> None:
    await stack.prompt()
    message = stack.prompt_for(EMPLOYEES[0])

    for emoji in ("heart", "tada"):
        response = await stack.driver.react(user_id=EMPLOYEES[0], message=message, reaction=emoji)
        assert response.status_code == 200
    await stack.settle()
    assert await stack.count(Reaction) == 2

    await stack.driver.react(user_id=EMPLOYEES[0], message=message, reaction="heart", removed=True)
    await stack.settle()
    assert await stack.count(Reaction) == 1


async def test_a_retried_event_counts_once(stack: Stack) -> None:
    await stack.prompt()
    message = stack.prompt_for(EMPLOYEES[1])
    event = {
        "type": "reaction_added",
        "user": EMPLOYEES[1],
        "reaction": "fire",
        "item_user": message.user,
        "item": {"type": "message", "channel": message.channel, "ts": message.ts},
        "event_ts": "1764151200.000100",
    }

    await stack.driver.send_event(event, event_id="Ev0RETRY")
    await stack.driver.send_event(event, event_id="Ev0RETRY", retry_num=1)
    await stack.settle()

    assert await stack.count(Reaction) == 1


async def test_reactions_elsewhere_are_ignored(stack: Stack) -> None:
    await stack.prompt()
    event = {
        "type": "reaction_added",
        "user": EMPLOYEES[0],
        "reaction": "eyes",
        "item_user": EMPLOYEES[1],
        "item": {"type": "message", "channel": "C0TEAM", "ts": "1764151200.000200"},
        "event_ts": "1764151200.000300",
    }

    response = await stack.driver.send_event(event)
    await stack.settle()

    assert response.status_code == 200
    assert await stack.count(Reaction) == 0
