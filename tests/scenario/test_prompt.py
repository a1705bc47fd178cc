"""`trustbot prompt --now`: every person in the audience gets one DM per period."""

from __future__ import annotations

from datetime import timedelta

from tests.scenario.conftest import EMPLOYEES, FORMER, MANAGER, OUTSIDER, ROBOT, Stack
from trustbot.db.models import Delivery, Round


async def test_prompts_reach_every_active_person_in_the_audience_once(stack: Stack) -> None:
    summary = await stack.prompt()

    assert summary.period == "2026-W48"
    assert summary.round_opened
    assert (summary.sent, summary.failed, summary.audience) == (len(EMPLOYEES), 0, len(EMPLOYEES))
    posted_to = sorted(call.args["channel"] for call in stack.emulator.calls_to("chat.postMessage"))
    assert posted_to == sorted(EMPLOYEES)
    for user in (MANAGER, OUTSIDER, FORMER, ROBOT):
        assert not stack.emulator.messages_in(stack.emulator.dm_channel_for(user))
    message = stack.prompt_for(EMPLOYEES[0])
    assert "We build our successes" in str(message.blocks)
    action_ids = [
        element["action_id"]
        for block in message.blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert action_ids == [f"pulse_score:{score}" for score in range(1, 6)]
    assert await stack.count(Delivery) == len(EMPLOYEES)


async def test_prompting_twice_in_a_period_sends_nothing_new(stack: Stack) -> None:
    await stack.prompt()
    stack.clock.now += timedelta(hours=5)

    again = await stack.prompt()

    assert (again.sent, again.already_sent, again.round_opened) == (0, len(EMPLOYEES), False)
    assert len(stack.emulator.calls_to("chat.postMessage")) == len(EMPLOYEES)
    assert await stack.count(Round) == 1


async def test_next_week_brings_the_next_rule(stack: Stack) -> None:
    await stack.prompt()
    stack.clock.now += timedelta(weeks=1)

    summary = await stack.prompt()

    assert (summary.period, summary.rule_position, summary.sent) == ("2026-W49", 2, len(EMPLOYEES))
    assert "trust comes from within" in str(stack.prompt_for(EMPLOYEES[0]).blocks)


async def test_a_rate_limited_post_is_retried_after_retry_after(stack: Stack) -> None:
    stack.emulator.rate_limit_next("chat.postMessage", times=2, retry_after=1)

    summary = await stack.prompt()

    assert (summary.sent, summary.failed) == (len(EMPLOYEES), 0)
    refused = [call for call in stack.emulator.calls_to("chat.postMessage") if not call.ok]
    assert len(refused) == 2


async def test_a_refused_post_is_recorded_and_retried_on_the_next_run(stack: Stack) -> None:
    stack.emulator.fail_next("chat.postMessage", "channel_not_found")

    first = await stack.prompt()
    second = await stack.prompt()

    assert (first.sent, first.failed) == (len(EMPLOYEES) - 1, 1)
    assert (second.sent, second.failed, second.already_sent) == (1, 0, len(EMPLOYEES) - 1)
    assert await stack.count(Delivery) == len(EMPLOYEES)
