"""Score clicks over signed HTTP: stored once per person per round, the later click wins,
confirmed privately, and the prompt never shows the score."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from tests.factories import stored_answers
from tests.scenario.conftest import EMPLOYEES, Stack
from trustbot.db.models import PulseAnswer


async def _answers(stack: Stack) -> list[tuple[str, int]]:
    return await stored_answers(stack.services, list(EMPLOYEES))


def _confirmations(stack: Stack, user: str) -> list[str]:
    return [str(sent["text"]) for sent in stack.emulator.ephemerals if sent["user"] == user]


CLOCK_START = 1_795_687_200  # the scenario clock's start, Thursday 26 November 2026, 10:00 UTC


def _ts(offset: float) -> str:
    """An action time `offset` seconds after a minute before the round opened (within the
    skew the bot allows): Slack stamps clicks by the clock the bot runs on."""
    return f"{CLOCK_START - 60 + offset:.6f}"


async def _click(stack: Stack, user: str, score: int, action_ts: str | None = None) -> None:
    response = await stack.driver.click_button(
        user_id=user,
        message=stack.prompt_for(user),
        action_id=f"pulse_score:{score}",
        action_ts=action_ts,
    )
    assert response.status_code == 200


async def test_a_click_is_stored_confirmed_privately_and_the_prompt_says_answered(
    stack: Stack,
) -> None:
    await stack.prompt()
    message = stack.prompt_for(EMPLOYEES[0])

    await _click(stack, EMPLOYEES[0], 4)
    await stack.settle()

    assert await _answers(stack) == [(EMPLOYEES[0], 4)]
    [confirmation] = _confirmations(stack, EMPLOYEES[0])
    assert "*4 – Well*" in confirmation
    assert stack.emulator.ephemerals[0]["channel"] == message.channel
    assert message.updates == 1
    shown = json.dumps(message.blocks)
    assert "Answered, thank you" in shown
    assert "Well*" not in shown
    assert "primary" not in shown


async def test_changing_the_answer_replaces_it_and_leaves_the_prompt_alone(stack: Stack) -> None:
    await stack.prompt()
    message = stack.prompt_for(EMPLOYEES[1])

    for score in (2, 2, 2, 5):
        await _click(stack, EMPLOYEES[1], score)
        await stack.settle()

    assert await _answers(stack) == [(EMPLOYEES[1], 5)]
    assert "*5 – Very well*" in _confirmations(stack, EMPLOYEES[1])[-1]
    assert message.updates == 1  # marked answered once, on the first answer


@pytest.mark.parametrize("newer_first", [False, True])
async def test_two_quick_clicks_end_with_the_later_one_in_either_arrival_order(
    stack: Stack, newer_first: bool
) -> None:
    """2 then 4, a moment apart, sent at once: 4 is stored and what the person sees last."""
    await stack.prompt()
    for attempt in range(10):
        user = EMPLOYEES[attempt % len(EMPLOYEES)]
        base = 10.0 * attempt
        first, second = (2, _ts(base + 0.000001)), (4, _ts(base + 0.000002))
        if attempt % 2 == 0:  # vary the first score too, so a stale 4 cannot pass for a new one
            first, second = (4, first[1]), (2, second[1])
        order = [second, first] if newer_first else [first, second]
        await asyncio.gather(*(_click(stack, user, score, ts) for score, ts in order))
        await stack.settle()

        stored = dict(await _answers(stack)).get(user)
        assert stored == second[0], f"attempt {attempt}"
        assert f"*{second[0]} – " in _confirmations(stack, user)[-1], f"attempt {attempt}"


async def test_a_replayed_old_click_does_not_revert_a_newer_answer(stack: Stack) -> None:
    await stack.prompt()
    user = EMPLOYEES[2]
    payload = stack.driver.payloads.block_actions(
        user_id=user, message=stack.prompt_for(user), action_id="pulse_score:1", action_ts=_ts(0)
    )
    captured = urlencode({"payload": json.dumps(payload)}).encode()
    signed_at = int(time.time())
    headers = {"content_type": "application/x-www-form-urlencoded", "timestamp": signed_at}
    assert (await stack.driver.post_signed(captured, **headers)).status_code == 200
    await _click(stack, user, 5, _ts(1))
    await stack.settle()

    # The same signed request again, well inside Slack's five-minute window.
    assert (await stack.driver.post_signed(captured, **headers)).status_code == 200
    await stack.settle()

    assert await _answers(stack) == [(user, 5)]
    assert "*5 – Very well*" in _confirmations(stack, user)[-1]


async def test_every_person_answers_exactly_once_when_all_click_at_once(stack: Stack) -> None:
    await stack.prompt()
    await asyncio.gather(
        *(
            _click(stack, user, score % 5 + 1, _ts(0.1 * repeat))
            for repeat in range(3)
            for score, user in enumerate(EMPLOYEES)
        )
    )
    await stack.settle()

    answers = await _answers(stack)
    assert sorted(answers) == sorted((user, score % 5 + 1) for score, user in enumerate(EMPLOYEES))
    async with stack.services.sessions() as session:
        handles = list(await session.scalars(select(PulseAnswer.respondent)))
    assert all(len(respondent) == 64 and respondent not in EMPLOYEES for respondent in handles)


@pytest.mark.parametrize("value", ["ROUND:0", "ROUND:6", "abc", "ROUND:abc", "", "999999:3"])
async def test_tampered_button_values_store_nothing_and_explain(stack: Stack, value: str) -> None:
    await stack.prompt()
    message = stack.prompt_for(EMPLOYEES[0])
    round_id = message.blocks[3]["elements"][0]["value"].split(":")[0]

    response = await stack.driver.click_button(
        user_id=EMPLOYEES[0],
        message=message,
        action_id="pulse_score:3",
        value=value.replace("ROUND", round_id),
    )
    await stack.settle()

    assert response.status_code == 200
    [ephemeral] = stack.emulator.ephemerals
    assert ephemeral["user"] == EMPLOYEES[0]
    assert "Nothing was saved" in ephemeral["text"]
    assert await _answers(stack) == []
    assert message.updates == 0


async def test_a_click_on_someone_elses_prompt_round_is_refused(stack: Stack) -> None:
    await stack.prompt()
    mine = stack.prompt_for(EMPLOYEES[0])
    # The same buttons, but in a message that is not a prompt delivered to this person.
    forged = dataclasses.replace(mine, ts="1111111111.000001")

    await stack.driver.click_button(user_id=EMPLOYEES[0], message=forged, action_id="pulse_score:5")
    await stack.settle()

    assert len(stack.emulator.ephemerals) == 1
    assert await _answers(stack) == []


async def test_an_unknown_action_is_acked_and_logged(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    await stack.prompt()
    message = stack.prompt_for(EMPLOYEES[0])
    odd = dataclasses.replace(
        message,
        blocks=[
            {
                "type": "actions",
                "block_id": "odd",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "from_an_older_version",
                        "text": {"type": "plain_text", "text": "Old"},
                        "value": "x",
                    }
                ],
            }
        ],
    )

    with caplog.at_level(logging.WARNING):
        response = await stack.driver.click_button(
            user_id=EMPLOYEES[0], message=odd, action_id="from_an_older_version"
        )
        await stack.settle()

    assert response.status_code == 200
    assert "ignored 1 unknown action(s)" in caplog.text
    assert "from_an_older_version" not in caplog.text  # not trustbot's: could be anything
    assert await _answers(stack) == []
    assert stack.emulator.ephemerals == []
