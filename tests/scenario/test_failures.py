"""No silent failure: every interaction takes effect and is confirmed, or the person is told
plainly that it did not; what has no reply (a reaction) is logged with its reason. And no Slack
call is made while a database transaction is open."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from tests.scenario.conftest import EMPLOYEES, Stack
from trustbot.db.database import Database
from trustbot.db.direct import DirectStatements
from trustbot.db.models import Anecdote, PulseAnswer
from trustbot.db.session import create_engine


def _told(stack: Stack, user: str) -> list[str]:
    return [str(sent["text"]) for sent in stack.emulator.ephemerals if sent["user"] == user]


async def _click(stack: Stack, user: str, action_id: str) -> None:
    response = await stack.driver.click_button(
        user_id=user, message=stack.prompt_for(user), action_id=action_id
    )
    assert response.status_code == 200
    await stack.settle()


async def test_a_score_click_with_the_database_down_says_it_was_not_saved(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    await stack.prompt()
    with caplog.at_level(logging.ERROR):
        request = stack.driver.click_button(
            user_id=EMPLOYEES[0],
            message=stack.prompt_for(EMPLOYEES[0]),
            action_id="pulse_score:4",
        )
        await _with_database_down(stack, request)

    assert _told(stack, EMPLOYEES[0]) == [
        "We could not save your answer just now. Please try again."
    ]
    assert "could not store a pulse answer" in caplog.text
    assert await stack.count(PulseAnswer) == 0


@asynccontextmanager
async def _database_down(stack: Stack) -> AsyncIterator[None]:
    """Point the bot's sessions at a database that cannot be reached: the real driver error."""
    services = stack.services
    url = (
        "sqlite:////nonexistent/dir/trustbot.db"
        if services.settings.database_url.startswith("sqlite")
        else "postgresql://postgres@127.0.0.1:9/trustbot"
    )
    broken = create_engine(url)
    saved = services.database
    # PostgreSQL: the click's own pool too
    direct = DirectStatements(url, timeout=1.0) if saved.dialect == "postgresql" else None
    services.database = Database(broken, direct=direct)
    try:
        yield
    finally:
        await services.database.close()
        services.database = saved
        await broken.dispose()


async def _with_database_down(stack: Stack, request: Any) -> None:
    async with _database_down(stack):
        response = await request
        assert response.status_code == 200
        await stack.settle()


async def test_the_story_button_with_the_database_down_says_so(stack: Stack) -> None:
    await stack.prompt()
    await _with_database_down(
        stack,
        stack.driver.click_button(
            user_id=EMPLOYEES[0], message=stack.prompt_for(EMPLOYEES[0]), action_id="share_story"
        ),
    )

    assert _told(stack, EMPLOYEES[0]) == [
        "The story form could not be opened just now. Please click the button again."
    ]
    assert stack.emulator.opened_views == []


async def test_a_story_with_the_database_down_keeps_the_modal_open(stack: Stack) -> None:
    await stack.prompt()
    await _click(stack, EMPLOYEES[0], "share_story")
    [entry] = stack.emulator.opened_views
    values = {
        "story": {"text": {"type": "plain_text_input", "value": "Keep me."}},
        "visibility": {"choice": {"type": "radio_buttons", "selected_option": {"value": "named"}}},
    }
    async with _database_down(stack):
        response = await stack.driver.submit_view(user_id=EMPLOYEES[0], view=entry, values=values)

    assert response.json() == {
        "response_action": "errors",
        "errors": {
            "story": "We could not save your story just now. Please try again; your text is kept."
        },
    }
    assert await stack.count(Anecdote) == 0


async def test_a_refused_views_open_tells_the_person(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    await stack.prompt()
    stack.emulator.fail_next("views.open", "expired_trigger_id")

    with caplog.at_level(logging.ERROR):
        await _click(stack, EMPLOYEES[1], "share_story")

    assert _told(stack, EMPLOYEES[1]) == [
        "The story form could not be opened just now. Please click the button again."
    ]
    assert "could not open the story modal: Slack said expired_trigger_id" in caplog.text


async def test_a_refused_chat_update_still_confirms_the_saved_score(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    await stack.prompt()
    stack.emulator.fail_next("chat.update", "cant_update_message")

    with caplog.at_level(logging.WARNING):
        await _click(stack, EMPLOYEES[2], "pulse_score:5")

    assert await stack.count(PulseAnswer) == 1
    [confirmation] = _told(stack, EMPLOYEES[2])
    assert "*5 – Very well*" in confirmation
    assert "could not mark a prompt answered: Slack said cant_update_message" in caplog.text


async def test_a_refused_confirmation_is_logged_with_slacks_reason(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    await stack.prompt()
    stack.emulator.fail_next("chat.postEphemeral", "channel_not_found")

    with caplog.at_level(logging.ERROR):
        await _click(stack, EMPLOYEES[3], "pulse_score:3")

    assert await stack.count(PulseAnswer) == 1
    assert "could not answer a click privately: Slack said channel_not_found" in caplog.text


async def test_a_reaction_that_cannot_be_recorded_is_logged_with_its_reason(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    await stack.prompt()
    with caplog.at_level(logging.ERROR):
        await _with_database_down(
            stack,
            stack.driver.react(
                user_id=EMPLOYEES[0], message=stack.prompt_for(EMPLOYEES[0]), reaction="heart"
            ),
        )

    [line] = [
        r.getMessage() for r in caplog.records if "could not record a reaction" in r.getMessage()
    ]
    assert "OperationalError" in line


async def test_no_slack_call_is_made_while_a_transaction_is_open(stack: Stack) -> None:
    await stack.prompt()
    pool = stack.runtime.engine.sync_engine.pool
    checked_out: list[tuple[str, int]] = []
    stack.emulator.call_observers.append(
        lambda method: checked_out.append((method, pool.checkedout()))  # type: ignore[attr-defined]
    )

    await _click(stack, EMPLOYEES[0], "pulse_score:4")
    await _click(stack, EMPLOYEES[0], "pulse_score:2")
    await _click(stack, EMPLOYEES[0], "share_story")
    await _click(stack, EMPLOYEES[1], "pulse_score:1")

    assert {method for method, _ in checked_out} >= {
        "chat.postEphemeral",
        "chat.update",
        "views.open",
    }
    assert [held for _, held in checked_out] == [0] * len(checked_out)
