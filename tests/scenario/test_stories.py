"""The story modal: opened from the prompt, validated inline, stored with round and rule."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from tests.scenario.conftest import EMPLOYEES, Stack
from trustbot.db.models import Anecdote
from trustbot.kinds import Visibility


def _values(
    text: str | None, visibility: str = "anonymous"
) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        "story": {"text": {"type": "plain_text_input", "value": text}},
        "visibility": {
            "choice": {"type": "radio_buttons", "selected_option": {"value": visibility}}
        },
    }


SAVED_TEXT = {
    "named": "shared with your name",
    "anonymous": "shared without your name",
    "private": "stays out of reports",
}


async def _open_modal(stack: Stack, user: str) -> dict[str, Any]:
    opened = len(stack.emulator.opened_views)
    await stack.driver.click_button(
        user_id=user, message=stack.prompt_for(user), action_id="share_story"
    )
    await stack.emulator.wait_for(lambda: len(stack.emulator.opened_views) > opened)
    entry: dict[str, Any] = stack.emulator.opened_views[opened]
    return entry


async def _stories(stack: Stack) -> list[Anecdote]:
    async with stack.services.sessions() as session:
        return list(await session.scalars(select(Anecdote).order_by(Anecdote.text)))


async def test_the_story_button_opens_the_modal_for_this_weeks_rule(stack: Stack) -> None:
    await stack.prompt()

    entry = await _open_modal(stack, EMPLOYEES[0])

    view = entry["view"]
    assert view["callback_id"] == "story_submit"
    assert "We build our successes" in str(view["blocks"])
    radio = view["blocks"][2]["element"]
    assert [option["value"] for option in radio["options"]] == ["named", "anonymous", "private"]
    assert len(view["title"]["text"]) <= 24


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "Please write your story."),
        ("   \n ", "Please write your story."),
        ("x" * 2001, "At most 2000 characters; yours has 2001."),
    ],
)
async def test_empty_or_overlong_stories_get_an_inline_error(
    stack: Stack, text: str, expected: str
) -> None:
    await stack.prompt()
    entry = await _open_modal(stack, EMPLOYEES[0])

    response = await stack.driver.submit_view(
        user_id=EMPLOYEES[0], view=entry, values=_values(text)
    )

    assert response.status_code == 200
    assert response.json() == {"response_action": "errors", "errors": {"story": expected}}
    assert await _stories(stack) == []


@pytest.mark.parametrize("visibility", ["named", "anonymous", "private"])
async def test_a_story_is_stored_with_its_round_rule_and_visibility(
    stack: Stack, visibility: str
) -> None:
    await stack.prompt()
    entry = await _open_modal(stack, EMPLOYEES[2])
    message = stack.prompt_for(EMPLOYEES[2])

    response = await stack.driver.submit_view(
        user_id=EMPLOYEES[2],
        view=entry,
        values=_values("  Anna fixed it in an hour.  ", visibility),
    )

    assert response.status_code == 200
    answer = response.json()
    assert answer["response_action"] == "update"
    assert SAVED_TEXT[visibility] in str(answer["view"]["blocks"])
    [story] = await _stories(stack)
    assert story.text == "Anna fixed it in an hour."
    assert story.visibility is Visibility(visibility)
    author = stack.services.keys.pseudonym(EMPLOYEES[2], "slack")
    assert stack.services.keys.author_seal.open(story.author_ref) == author  # forget can find it
    assert author not in story.author_ref
    assert story.author_user_id == (EMPLOYEES[2] if visibility == "named" else None)
    assert story.source_id == entry["id"]
    await stack.settle()
    assert message.updates == 0  # the DM history never records what a person shared


async def test_a_resubmitted_view_is_stored_once(stack: Stack) -> None:
    await stack.prompt()
    entry = await _open_modal(stack, EMPLOYEES[0])

    for _ in range(2):
        await stack.driver.submit_view(user_id=EMPLOYEES[0], view=entry, values=_values("Once."))

    assert len(await _stories(stack)) == 1


async def test_a_failed_save_keeps_the_modal_open_and_says_so(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    await stack.prompt()
    entry = await _open_modal(stack, EMPLOYEES[0])

    async def broken(*_: Any, **__: Any) -> bool:
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr("trustbot.core.interactions.record_story", broken)
    response = await stack.driver.submit_view(
        user_id=EMPLOYEES[0], view=entry, values=_values("Keep me.")
    )

    assert response.json()["response_action"] == "errors"
    assert "could not save your story" in response.json()["errors"]["story"]
    assert await _stories(stack) == []
