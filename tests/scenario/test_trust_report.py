"""/trust-report: for report viewers an ephemeral report, for anyone else a polite refusal."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from tests.scenario.conftest import EMPLOYEES, MANAGER, OUTSIDER, Stack


async def _report(stack: Stack, user: str, text: str = "") -> dict[str, Any]:
    before = len(stack.emulator.responses)
    response = await stack.driver.send_command(user_id=user, text=text)
    assert response.status_code == 200
    await stack.emulator.wait_for(lambda: len(stack.emulator.responses) > before)
    body: dict[str, Any] = stack.emulator.responses[before]["body"]
    return body


def _text(body: dict[str, Any]) -> str:
    """Every text of the blocks: sections and headers, and context elements."""
    texts = []
    for block in body.get("blocks", []):
        texts.append(str(block.get("text", {}).get("text", "")))
        texts += [str(element.get("text", "")) for element in block.get("elements", [])]
    return "\n".join(texts)


async def test_a_viewer_sees_a_closed_week_and_nothing_of_the_open_week(stack: Stack) -> None:
    stack.clock.now -= timedelta(weeks=1)
    await stack.prompt()  # 2026-W47, rule 1
    await stack.answer(dict.fromkeys(EMPLOYEES[:4], 3))
    await stack.share_story(EMPLOYEES[0], "Ping <!channel> and <@U0BOSS> & <!here>", "named")
    await stack.share_story(EMPLOYEES[1], "Quietly brilliant work.", "anonymous")
    await stack.share_story(EMPLOYEES[2], "Only for the count.", "private")
    stack.clock.now += timedelta(weeks=1)
    await stack.runtime.jobs.close()  # 2026-W47 has ended
    await stack.prompt()  # 2026-W48, rule 2
    await stack.answer(dict.fromkeys(EMPLOYEES[:4], 5))

    body = await _report(stack, MANAGER, "4")

    assert body["response_type"] == "ephemeral"
    text = _text(body)
    assert "the last 4 weeks" in text
    assert "Trust index 50 · participation ≥66% (≥4 answers)" in text  # closed weeks only
    # Six asked, four answered: "at least 4 of 6", never whether none or two did not answer.
    assert re.search(r"2026-W47\s+#1\s+≥4/6 ≥66%\s+50\s+—", text)
    assert re.search(r"2026-W48\s+#2\s+open\n", text)  # not even how many answered so far
    assert "100" not in text
    assert "4/6" not in text.replace("≥4/6", "")
    assert re.search(r"2026-W45\s+—\s+no round", text)
    assert "Ping &lt;!channel&gt; and &lt;@U0BOSS&gt; &amp; &lt;!here&gt;" in text
    assert "<!channel>" not in text
    assert "<!here>" not in text
    assert "<@U0BOSS>" not in text
    assert f"<@{EMPLOYEES[0]}>" in text  # shared with a name
    assert "Quietly brilliant work." in text
    assert "_anonymous_" in text
    assert "Only for the count." not in text
    assert len(body["blocks"]) <= 50
    # The chart goes to the viewer's own DM with the app, nowhere else.
    [upload] = stack.emulator.calls_to("files.completeUploadExternal")
    assert upload.args["channel_id"] == stack.emulator.dm_channel_for(MANAGER)


async def test_a_week_with_k_plus_one_answers_is_shown_once_closed(stack: Stack) -> None:
    stack.clock.now -= timedelta(weeks=1)
    await stack.prompt()
    await stack.answer(dict.fromkeys(EMPLOYEES[:3], 4))  # k = 3 answers: too few
    await stack.answer({EMPLOYEES[3]: 3})  # k + 1 = 4
    assert "69" not in _text(await _report(stack, MANAGER, "2"))  # still open
    stack.clock.now += timedelta(weeks=1)
    await stack.runtime.jobs.close()

    text = _text(await _report(stack, MANAGER, "2"))
    assert re.search(r"2026-W47\s+#1\s+≥4/6 ≥66%\s+70\s", text)  # 15 / 4: 68.75, nearest 10
    assert "at least 4 answers from at least 6 people asked" in text


async def test_a_week_with_k_answers_is_too_few_to_show(stack: Stack) -> None:
    stack.clock.now -= timedelta(weeks=1)
    await stack.prompt()
    await stack.answer(dict.fromkeys(EMPLOYEES[:3], 4))
    stack.clock.now += timedelta(weeks=1)
    await stack.runtime.jobs.close()

    assert re.search(
        r"2026-W47\s+#1\s+too few to show\n", _text(await _report(stack, MANAGER, "2"))
    )


async def test_the_default_is_eight_weeks(stack: Stack) -> None:
    body = await _report(stack, MANAGER)

    assert "the last 8 weeks" in _text(body)
    assert _text(body).count("no round") == 8


async def test_anyone_else_is_refused_without_learning_anything(stack: Stack) -> None:
    await stack.prompt()
    await stack.answer(dict.fromkeys(EMPLOYEES[:4], 4))

    for text in ("", "12", "nonsense"):
        body = await _report(stack, OUTSIDER, text)
        assert body == {
            "text": "Sorry, this report is only available to selected leaders.",
            "response_type": "ephemeral",
        }


@pytest.mark.parametrize("text", ["0", "53", "abc", "4 weeks", "-3", "rule=9", "team=Nobody"])
async def test_bad_arguments_get_usage_help(stack: Stack, text: str) -> None:
    body = await _report(stack, MANAGER, text)

    assert body["text"].startswith("Usage: `/trust-report [weeks] [rule=N] [team=NAME]`")
    assert "blocks" not in body or not body["blocks"]


async def test_a_slack_failure_while_checking_viewers_is_explained(stack: Stack) -> None:
    stack.emulator.fail_next("usergroups.users.list", "internal_error")

    body = await _report(stack, MANAGER)

    assert body["text"] == "The report could not be made just now. Please try again shortly."
