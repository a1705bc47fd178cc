"""Emoji reactions on a prompt count as engagement in its round."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.scenario.conftest import EMPLOYEES, Stack
from trustbot.db.models import Reaction


async def _counted(stack: Stack) -> int:
    """Reactions that count: present ones (a removal leaves a row behind, not counted)."""
    async with stack.services.sessions() as session:
        query = select(func.count()).select_from(Reaction).where(Reaction.present)
        return int(await session.scalar(query) or 0)


async def test_reactions_on_a_prompt_are_counted_and_uncounted(stack: Stack) -> None:
    await stack.prompt()
    message = stack.prompt_for(EMPLOYEES[0])

    for emoji in ("heart", "tada"):
        response = await stack.driver.react(user_id=EMPLOYEES[0], message=message, reaction=emoji)
        assert response.status_code == 200
    await stack.settle()
    assert await _counted(stack) == 2

    await stack.driver.react(user_id=EMPLOYEES[0], message=message, reaction="heart", removed=True)
    await stack.settle()
    assert await _counted(stack) == 1


async def test_a_retried_event_counts_once(stack: Stack) -> None:
    await stack.prompt()
    message = stack.prompt_for(EMPLOYEES[1])
    event = {
        "type": "reaction_added",
        "user": EMPLOYEES[1],
        "reaction": "fire",
        "item_user": message.user,
        "item": {"type": "message", "channel": message.channel, "ts": message.ts},
        "event_ts": "1795687200.000100",
    }

    await stack.driver.send_event(event, event_id="Ev0RETRY")
    await stack.driver.send_event(event, event_id="Ev0RETRY", retry_num=1)
    await stack.settle()

    assert await _counted(stack) == 1


async def test_reactions_elsewhere_are_ignored(stack: Stack) -> None:
    await stack.prompt()
    event = {
        "type": "reaction_added",
        "user": EMPLOYEES[0],
        "reaction": "eyes",
        "item_user": EMPLOYEES[1],
        "item": {"type": "message", "channel": "C0TEAM", "ts": "1795687200.000200"},
        "event_ts": "1795687200.000300",
    }

    response = await stack.driver.send_event(event)
    await stack.settle()

    assert response.status_code == 200
    assert await _counted(stack) == 0


async def test_a_retried_add_arriving_after_the_removal_does_not_count_again(stack: Stack) -> None:
    await stack.prompt()
    message = stack.prompt_for(EMPLOYEES[2])
    added = {
        "type": "reaction_added",
        "user": EMPLOYEES[2],
        "reaction": "heart",
        "item_user": message.user,
        "item": {"type": "message", "channel": message.channel, "ts": message.ts},
        "event_ts": "1795687200.000100",
    }
    removed = {**added, "type": "reaction_removed", "event_ts": "1795687260.000100"}

    await stack.driver.send_event(added, event_id="Ev0ADD")
    await stack.settle()
    await stack.driver.send_event(removed, event_id="Ev0REMOVE")
    await stack.settle()
    await stack.driver.send_event(added, event_id="Ev0ADD", retry_num=1)  # Slack's retry
    await stack.settle()

    assert await _counted(stack) == 0
