"""Score clicks: recorded once per person per round, the prompt updated in place."""

from __future__ import annotations

import dataclasses
import logging

import pytest
from sqlalchemy import select

from tests.scenario.conftest import EMPLOYEES, Stack
from trustbot.db.models import PulseAnswer


async def _answers(stack: Stack) -> list[tuple[str, int]]:
    async with stack.services.sessions() as session:
        rows = await session.execute(select(PulseAnswer.respondent, PulseAnswer.score))
        return [(respondent, score) for respondent, score in rows]


async def test_a_click_is_recorded_and_the_prompt_thanks_in_place(stack: Stack) -> None:
    await stack.prompt()
    message = stack.prompt_for(EMPLOYEES[0])

    response = await stack.driver.click_button(
        user_id=EMPLOYEES[0], message=message, action_id="pulse_score:4"
    )

    assert response.status_code == 200
    await stack.emulator.wait_for(lambda: message.updates == 1)
    assert await _answers(stack) == [(stack.services.pseudonym(EMPLOYEES[0]), 4)]
    text = str(message.blocks)
    assert "You answered *4 – Well*" in text
    chosen = [
        element
        for block in message.blocks
        if block["type"] == "actions"
        for element in block["elements"]
        if element.get("style") == "primary"
    ]
    assert [button["action_id"] for button in chosen] == ["pulse_score:4"]


async def test_repeated_clicks_and_retries_never_add_rows(stack: Stack) -> None:
    await stack.prompt()
    message = stack.prompt_for(EMPLOYEES[1])

    for _ in range(3):
        await stack.driver.click_button(
            user_id=EMPLOYEES[1], message=message, action_id="pulse_score:2"
        )
    await stack.emulator.wait_for(lambda: message.updates == 3)
    await stack.driver.click_button(
        user_id=EMPLOYEES[1], message=message, action_id="pulse_score:5"
    )
    await stack.emulator.wait_for(lambda: message.updates == 4)

    assert await _answers(stack) == [(stack.services.pseudonym(EMPLOYEES[1]), 5)]
    assert "You answered *5 – Very well*" in str(message.blocks)


async def test_every_person_answers_exactly_once(stack: Stack) -> None:
    await stack.prompt()
    for score, user in enumerate(EMPLOYEES, start=0):
        await stack.driver.click_button(
            user_id=user, message=stack.prompt_for(user), action_id=f"pulse_score:{score % 5 + 1}"
        )
    await stack.emulator.wait_for(
        lambda: len(stack.emulator.calls_to("chat.update")) == len(EMPLOYEES)
    )

    answers = await _answers(stack)
    assert sorted(respondent for respondent, _ in answers) == sorted(
        stack.services.pseudonym(user) for user in EMPLOYEES
    )
    assert all(len(respondent) == 64 and respondent not in EMPLOYEES for respondent, _ in answers)


@pytest.mark.parametrize("value", ["ROUND:0", "ROUND:6", "abc", "ROUND:abc", "", "999999:3"])
async def test_tampered_button_values_store_nothing_and_explain(stack: Stack, value: str) -> None:
    summary = await stack.prompt()
    del summary
    message = stack.prompt_for(EMPLOYEES[0])
    round_id = message.blocks[3]["elements"][0]["value"].split(":")[0]

    response = await stack.driver.click_button(
        user_id=EMPLOYEES[0],
        message=message,
        action_id="pulse_score:3",
        value=value.replace("ROUND", round_id),
    )

    assert response.status_code == 200
    await stack.emulator.wait_for(lambda: len(stack.emulator.ephemerals) == 1)
    ephemeral = stack.emulator.ephemerals[0]
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

    await stack.emulator.wait_for(lambda: len(stack.emulator.ephemerals) == 1)
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
    assert "from_an_older_version" in caplog.text
    assert await _answers(stack) == []
    assert stack.emulator.ephemerals == []
