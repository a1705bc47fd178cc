"""Block Kit builders: content, ids, escaping and Slack's size limits."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from tests.factories import sample_report
from trustbot.core.catalogue import Language, score_label, text
from trustbot.core.figures import HIDDEN
from trustbot.core.ports import Prompt
from trustbot.core.reports import SharedStory, TrustReport
from trustbot.core.rules import CALL_ME_WAY, MAX_RULE_LENGTH, Rule
from trustbot.kinds import Visibility
from trustbot.slack.blocks.ids import (
    PROMPT_ANSWER_BLOCK,
    SCORE_ACTION,
    SHARE_STORY_ACTION,
    STORY_CALLBACK,
    STORY_TEXT_BLOCK,
    STORY_VISIBILITY_BLOCK,
)
from trustbot.slack.blocks.prompt import (
    prompt_fallback_text,
    render_prompt_blocks,
    render_score_confirmation,
)
from trustbot.slack.blocks.report import (
    render_digest_messages,
    render_trust_report_blocks,
    report_fallback_text,
)
from trustbot.slack.blocks.story import (
    StoryContext,
    render_story_modal,
    render_story_saved_view,
    story_errors,
)

LANGUAGES: tuple[Language, ...] = ("da", "en")
LONG_RULE = Rule(1, "Å" * MAX_RULE_LENGTH, "W" * MAX_RULE_LENGTH)

# Slack's documented limits (Block Kit reference).
TEXT_LIMIT = 3000
HEADER_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
ID_LIMIT = 255
MESSAGE_BLOCKS_LIMIT = 50
MODAL_BLOCKS_LIMIT = 100
MODAL_TITLE_LIMIT = 24
METADATA_LIMIT = 3000
OPTION_TEXT_LIMIT = 75
OPTION_VALUE_LIMIT = 150


def limit_problems(node: Any, where: str = "$") -> list[str]:
    """Every Slack limit a block structure breaks."""
    problems: list[str] = []
    if isinstance(node, list):
        for index, item in enumerate(node):
            problems += limit_problems(item, f"{where}[{index}]")
        return problems
    if not isinstance(node, dict):
        return problems
    kind = node.get("type")
    if kind in ("plain_text", "mrkdwn"):
        value = node.get("text", "")
        if not isinstance(value, str) or not value:
            problems.append(f"{where}: empty text object")
        elif len(value) > TEXT_LIMIT:
            problems.append(f"{where}: text of {len(value)} > {TEXT_LIMIT}")
    if kind == "header" and len(node["text"]["text"]) > HEADER_LIMIT:
        problems.append(f"{where}: header over {HEADER_LIMIT}")
    if kind == "button":
        if len(node["text"]["text"]) > BUTTON_TEXT_LIMIT:
            problems.append(f"{where}: button text over {BUTTON_TEXT_LIMIT}")
        if len(node.get("value", "")) > BUTTON_VALUE_LIMIT:
            problems.append(f"{where}: button value over {BUTTON_VALUE_LIMIT}")
    for key in ("action_id", "block_id", "callback_id"):
        if key in node and not 0 < len(node[key]) <= ID_LIMIT:
            problems.append(f"{where}: {key} length {len(node[key])}")
    if "options" in node:
        for option in node["options"]:
            if len(option["text"]["text"]) > OPTION_TEXT_LIMIT:
                problems.append(f"{where}: option text over {OPTION_TEXT_LIMIT}")
            if len(option["value"]) > OPTION_VALUE_LIMIT:
                problems.append(f"{where}: option value over {OPTION_VALUE_LIMIT}")
    for key, child in node.items():
        problems += limit_problems(child, f"{where}.{key}")
    return problems


def assert_message_ok(blocks: list[dict[str, Any]]) -> None:
    assert len(blocks) <= MESSAGE_BLOCKS_LIMIT, len(blocks)
    assert limit_problems(blocks) == []
    block_ids = [block["block_id"] for block in blocks if "block_id" in block]
    assert len(block_ids) == len(set(block_ids))


def all_texts(node: Any) -> list[str]:
    if isinstance(node, list):
        return [found for item in node for found in all_texts(item)]
    if isinstance(node, dict):
        found = (
            [node["text"]]
            if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str)
            else []
        )
        return found + [text for value in node.values() for text in all_texts(value)]
    return []


# --- prompt ---------------------------------------------------------------------------


def _prompt(language: Language = "en", rule: Rule = CALL_ME_WAY[0], round_id: int = 42) -> Prompt:
    return Prompt(round_id=round_id, period="2026-W48", rule=rule, language=language)


def _buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    actions = [block for block in blocks if block.get("block_id") == PROMPT_ANSWER_BLOCK]
    assert len(actions) == 1
    assert actions[0]["type"] == "actions"
    return list(actions[0]["elements"])


@pytest.mark.parametrize("language", LANGUAGES)
def test_prompt_has_five_score_buttons(language: Language) -> None:
    blocks = render_prompt_blocks(_prompt(language))
    buttons = _buttons(blocks)
    assert [button["action_id"] for button in buttons] == [f"pulse_score:{n}" for n in range(1, 6)]
    assert all(SCORE_ACTION.match(button["action_id"]) for button in buttons)
    assert [button["value"] for button in buttons] == [f"42:{n}" for n in range(1, 6)]
    for score, button in enumerate(buttons, start=1):
        assert button["type"] == "button"
        assert button["text"]["type"] == "plain_text"
        assert str(score) in button["text"]["text"]
        assert score_label(score, language) in button["text"]["text"]
        assert "style" not in button
    assert_message_ok(blocks)


@pytest.mark.parametrize("language", LANGUAGES)
def test_prompt_shows_rule_question_and_hint(language: Language) -> None:
    rule = CALL_ME_WAY[3]
    blocks = render_prompt_blocks(_prompt(language, rule))
    texts = all_texts(blocks)
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"] == text("prompt.header", language)
    assert f"> {rule.text(language)}" in texts
    assert text("prompt.question", language) in texts
    assert text("prompt.scale_hint", language) in texts
    assert text("prompt.answered", language) not in texts
    share = blocks[-1]["accessory"]
    assert share["action_id"] == SHARE_STORY_ACTION
    assert share["value"] == "42"
    assert share["text"]["text"] == text("prompt.story_button", language)


def test_danish_prompt_speaks_danish() -> None:
    texts = "\n".join(all_texts(render_prompt_blocks(_prompt("da"))))
    assert "Ugens regel" in texts
    assert "Vi bygger vores succeser på mange små gode ideer og beslutninger." in texts
    assert "Rigtig godt" in texts
    assert "Very well" not in texts


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_answered_prompt_says_so_but_never_shows_the_score(language: Language) -> None:
    blocks = render_prompt_blocks(_prompt(language), answered=True)
    texts = all_texts(blocks)
    assert text("prompt.answered", language) in texts
    assert text("prompt.scale_hint", language) not in texts
    assert all("style" not in button for button in _buttons(blocks))
    # The buttons are the same as before answering: nothing in the DM history tells the score.
    assert _buttons(blocks) == _buttons(render_prompt_blocks(_prompt(language)))
    assert_message_ok(blocks)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("score", [1, 3, 5])
def test_the_private_confirmation_names_the_score(language: Language, score: int) -> None:
    confirmation = render_score_confirmation(score, language)
    assert f"*{score} – {score_label(score, language)}*" in confirmation
    assert len(confirmation) <= TEXT_LIMIT


@pytest.mark.parametrize("visibility", list(Visibility))
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_story_saved_view_says_what_happens_to_the_story(
    visibility: Visibility, language: Language
) -> None:
    view = render_story_saved_view(visibility, language)
    assert view["type"] == "modal"
    assert text(f"story.saved.{visibility.value}", language) in all_texts(view)
    assert 0 < len(view["title"]["text"]) <= MODAL_TITLE_LIMIT
    assert limit_problems(view) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_prompt_limits_with_long_rule_and_big_round(language: Language) -> None:
    blocks = render_prompt_blocks(_prompt(language, LONG_RULE, round_id=2**31 - 1), answered=True)
    assert_message_ok(blocks)


def test_prompt_fallback_text() -> None:
    assert prompt_fallback_text(CALL_ME_WAY[3], "en") == (
        "This week's rule: We get far, fast, with little.. How well did we live it this week?"
    )
    assert prompt_fallback_text(CALL_ME_WAY[3], "da").startswith(
        "Ugens regel: Vi kommer hurtigt langt med lidt."
    )


# --- story modal ----------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_story_modal(language: Language) -> None:
    context = StoryContext(round_id=7, channel_id="D0123", message_ts="1764151200.000100")
    view = render_story_modal(CALL_ME_WAY[1], language, context)
    assert view["type"] == "modal"
    assert view["callback_id"] == STORY_CALLBACK
    assert view["title"]["text"] == text("story.title", language)
    for key in ("title", "submit", "close"):
        assert 0 < len(view[key]["text"]) <= MODAL_TITLE_LIMIT
    assert len(view["private_metadata"]) <= METADATA_LIMIT
    assert StoryContext.decode(view["private_metadata"]) == context
    assert len(view["blocks"]) <= MODAL_BLOCKS_LIMIT
    assert limit_problems(view) == []
    by_id = {block.get("block_id"): block for block in view["blocks"]}
    field = by_id[STORY_TEXT_BLOCK]["element"]
    assert field["max_length"] == 2000
    assert field["multiline"] is True
    choice = by_id[STORY_VISIBILITY_BLOCK]["element"]
    assert [option["value"] for option in choice["options"]] == ["named", "anonymous", "private"]
    assert choice["initial_option"]["value"] == "anonymous"
    assert text("story.rule_context", language, rule=CALL_ME_WAY[1].text(language)) in (
        all_texts(view)
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_story_modal_with_long_rule(language: Language) -> None:
    context = StoryContext(2**31 - 1, "C" + "X" * 60, "9" * 30)
    view = render_story_modal(LONG_RULE, language, context)
    assert limit_problems(view) == []
    assert len(view["private_metadata"]) <= METADATA_LIMIT


@pytest.mark.parametrize(
    "context",
    [
        StoryContext(1, None, None),
        StoryContext(123456, "D0ABC", "1764151200.000100"),
        StoryContext(5, "C\"quoted'", None),
    ],
)
def test_story_context_round_trips(context: StoryContext) -> None:
    assert StoryContext.decode(context.encode()) == context


@pytest.mark.parametrize(
    "metadata",
    ["", "garbage", "{", "{}", '{"c": "D1"}', '{"r": "7"}', '{"r": true}', '{"r": 1.5}'],
)
def test_story_context_refuses_garbage(metadata: str) -> None:
    with pytest.raises((ValueError, KeyError)):  # json.JSONDecodeError is a ValueError
        StoryContext.decode(metadata)


@pytest.mark.parametrize("metadata", ["[1]", "5", "null", '"r"'])
def test_story_context_refuses_non_object_json(metadata: str) -> None:
    with pytest.raises((ValueError, KeyError)):
        StoryContext.decode(metadata)


def test_story_context_ignores_wrong_types_of_optional_fields() -> None:
    assert StoryContext.decode('{"r": 3, "c": 5, "t": ["x"]}') == StoryContext(3, None, None)


def test_story_errors() -> None:
    assert story_errors("At most 2000 characters; yours has 2001.") == {
        STORY_TEXT_BLOCK: "At most 2000 characters; yours has 2001."
    }


# --- report ---------------------------------------------------------------------------


def _story(text_: str, author: str | None = None, period: str = "2026-W47") -> SharedStory:
    return SharedStory(period, CALL_ME_WAY[0], text_, author)


def _render(report: TrustReport, language: Language = "en") -> list[dict[str, Any]]:
    return render_trust_report_blocks(report, language=language, timezone="Europe/Copenhagen")


@pytest.mark.parametrize("language", LANGUAGES)
def test_52_week_report_with_long_stories_fits_one_message(language: Language) -> None:
    stories = tuple(
        _story(("Lang historie om tillid. " * 100)[:2000], "U0NAMED" if i % 2 else None)
        for i in range(5)
    )
    long_rules = tuple(
        Rule(position, "Å" * MAX_RULE_LENGTH, "W" * MAX_RULE_LENGTH) for position in range(1, 21)
    )
    report = sample_report(weeks=52, stories=stories, rules=long_rules)

    blocks = _render(report, language)

    assert_message_ok(blocks)


@pytest.mark.parametrize(
    "story", ["<" * 2000, "&" * 2000, "x" * 1999 + "&", "<!channel> " * 180, "a\n" * 999]
)
def test_escaped_stories_stay_within_the_text_limit(story: str) -> None:
    blocks = _render(sample_report(stories=(_story(story[:2000], "U0X"),)))
    assert_message_ok(blocks)
    assert "<!channel>" not in json.dumps(blocks)


def test_report_escapes_stories_and_names_authors() -> None:
    report = sample_report(
        stories=(_story("Ping <!channel> & <@U0BOSS>", "U0ALICE"), _story("Quiet work."))
    )

    text_ = json.dumps(_render(report))

    assert "&lt;!channel&gt; &amp; &lt;@U0BOSS&gt;" in text_
    assert "<@U0ALICE>" in text_
    assert "_anonymous_" in text_


@pytest.mark.parametrize("language", LANGUAGES)
def test_report_shows_headline_alert_weeks_rules_and_teams(language: Language) -> None:
    texts = "\n".join(all_texts(_render(sample_report(), language)))

    assert text("report.title", language, weeks=8) in texts
    assert "72" in texts
    assert "▲ +2" in texts
    assert "⚠️" in texts
    assert "82" in texts
    assert "66" in texts
    assert text("report.not_enough", language) in texts  # a hidden week and a hidden team
    open_row = next(line for line in texts.splitlines() if line.startswith("2026-W48"))
    assert text("report.open", language) in open_row
    after_rule = open_row.split("#", 1)[1][1:]  # what follows "2026-W48  #3"
    assert not any(character.isdigit() for character in after_rule)
    assert "9999/19999 50%" in texts  # exact where at least k did not answer
    assert "≥9995/9999 ≥99%" in texts  # a band where fewer did
    assert "▼ −12" in texts
    assert "Customer care and support" in texts
    assert text("report.weekly", language) in texts
    assert text("report.rules", language) in texts


def test_a_hidden_week_shows_no_figure_at_all() -> None:
    report = sample_report()
    hidden = next(p for p in report.periods if p.figures.hidden)

    table = next(t for t in all_texts(_render(report)) if hidden.period in t)
    row = next(line for line in table.splitlines() if line.startswith(hidden.period))

    assert "too few to show" in row
    assert not any(character.isdigit() for character in row.split("too few to show")[1])


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_digest_fits_slack_messages(language: Language) -> None:
    stories = tuple(_story("S" * 2000, "U0A") for _ in range(5))
    report = sample_report(weeks=12, stories=stories)
    closed = report.periods[-2]  # the latest closed week: the digest's stories are its own
    assert closed.rule is not None
    messages = render_digest_messages(report, language=language, timezone="UTC")

    assert messages
    for blocks in messages:
        assert_message_ok(blocks)
    texts = "\n".join(all_texts(messages[0]))
    assert text("digest.title", language, period="2026-W48") in texts
    assert text("digest.stories", language, period="2026-W47", rule=closed.rule.position) in texts
    assert sum("S" * 100 in t for m in messages for t in all_texts(m)) <= 3


def test_a_digest_too_long_for_one_message_is_split_and_loses_nothing() -> None:
    """2,000 teams with 64-character names: the team table alone runs over 50 sections of
    3,000 characters."""
    report = sample_report()
    week_rule = report.periods[-2].rule  # the latest closed week's: an open week shows none
    assert week_rule is not None
    stories = tuple(SharedStory("2026-W47", week_rule, "S" * 2000, "U0A") for _ in range(3))
    report = replace(report, stories=stories)
    latest = max(i for i, p in enumerate(report.periods) if p.teams and not p.open)
    teams = tuple((f"Team {number:04d} ".ljust(64, "x"), HIDDEN) for number in range(2000))
    periods = list(report.periods)
    periods[latest] = replace(periods[latest], teams=teams)
    report = replace(report, periods=tuple(periods))

    messages = render_digest_messages(report, language="en", timezone="UTC")

    assert len(messages) > 1
    for blocks in messages:
        assert_message_ok(blocks)
    texts = [text for blocks in messages for text in all_texts(blocks)]
    lines = [line for text in texts for line in text.splitlines()]
    rows = [line for line in lines if line[:5] == "Team " and line[5:9].isdigit()]
    assert [row.split()[1] for row in rows] == [f"{number:04d}" for number in range(2000)]
    assert all(row.endswith("too few to show") for row in rows)
    assert texts[0].startswith("Trust digest")
    assert sum("S" * 100 in text for text in texts) == 3  # the stories close the last message
    assert "S" * 100 in all_texts(messages[-1])[-1]


def test_report_without_stories_says_so() -> None:
    texts = all_texts(_render(sample_report()))
    assert text("report.no_stories", "en") in texts


def test_report_fallback_text() -> None:
    assert report_fallback_text(sample_report(), "en") == "Trust report: the last 8 weeks"


def test_blocks_are_json_serialisable() -> None:
    for blocks in (
        render_prompt_blocks(_prompt("da"), answered=True),
        _render(sample_report(stories=(_story("x", "U0A"),))),
    ):
        assert json.loads(json.dumps(blocks)) == blocks
