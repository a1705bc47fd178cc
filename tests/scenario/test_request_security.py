"""Forged or stale requests are refused with 401 and change nothing."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from tests.scenario.conftest import EMPLOYEES, Stack
from trustbot.db.models import PulseAnswer, Reaction


def _click_body(stack: Stack, user: str) -> bytes:
    message = stack.prompt_for(user)
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T0TRUST"},
        "api_app_id": "A0TRUSTBOT",
        "team": {"id": "T0TRUST", "domain": "trust-emulated"},
        "container": {"type": "message", "channel_id": message.channel, "message_ts": message.ts},
        "channel": {"id": message.channel},
        "trigger_id": stack.emulator.new_trigger_id(user),
        "actions": [
            {
                "type": "button",
                "action_id": "pulse_score:5",
                "block_id": "pulse_answer",
                "value": message.blocks[3]["elements"][4]["value"],
                "action_ts": "1795687200.000100",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


async def test_a_forged_signature_is_refused(stack: Stack) -> None:
    await stack.prompt()

    response = await stack.driver.post_signed(
        _click_body(stack, EMPLOYEES[0]),
        content_type="application/x-www-form-urlencoded",
        signature="v0=" + "0" * 64,
    )

    assert response.status_code == 401
    assert await stack.count(PulseAnswer) == 0


async def test_a_timestamp_older_than_five_minutes_is_refused(stack: Stack) -> None:
    await stack.prompt()

    response = await stack.driver.post_signed(
        _click_body(stack, EMPLOYEES[0]),
        content_type="application/x-www-form-urlencoded",
        timestamp=int(time.time()) - 301,
    )

    assert response.status_code == 401
    assert await stack.count(PulseAnswer) == 0


async def test_the_same_request_correctly_signed_is_accepted(stack: Stack) -> None:
    await stack.prompt()

    response = await stack.driver.post_signed(
        _click_body(stack, EMPLOYEES[0]), content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200
    await stack.emulator.wait_for(lambda: len(stack.emulator.calls_to("chat.update")) == 1)
    assert await stack.count(PulseAnswer) == 1


async def test_a_forged_event_is_refused(stack: Stack) -> None:
    await stack.prompt()
    message = stack.prompt_for(EMPLOYEES[0])
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0TRUST",
            "event_id": "Ev0FORGED",
            "event": {
                "type": "reaction_added",
                "user": EMPLOYEES[0],
                "reaction": "heart",
                "item": {"type": "message", "channel": message.channel, "ts": message.ts},
            },
        }
    ).encode()

    response = await stack.driver.post_signed(
        body, content_type="application/json", signature="v0=deadbeef"
    )

    assert response.status_code == 401
    await stack.settle()
    assert await stack.count(Reaction) == 0
