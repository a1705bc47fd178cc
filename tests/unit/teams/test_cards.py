"""The Teams cards are pure builders: every variant validates against Adaptive Cards 1.5, shows
no score once answered, and renders user text without markdown."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.teams_cards import validate_adaptive_card
from trustbot.core.anecdotes import MAX_STORY_LENGTH
from trustbot.core.ports import Prompt
from trustbot.core.rules import CALL_ME_WAY
from trustbot.kinds import Visibility
from trustbot.render.report import Heading, Note, Paragraph, Quote, Table
from trustbot.teams.cards import (
    SCORE_VERB,
    STORY_VERB,
    escape_markdown,
    render_parts_card,
    render_prompt_card,
    render_text_card,
)

PROMPT = Prompt(round_id=7, period="2026-W48", rule=CALL_ME_WAY[2], language="en")


def _actions(card: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(card.get("actions", []))
    for element in card["body"]:
        found += element.get("actions", [])
    return found


@pytest.mark.parametrize(
    "variant",
    [{}, {"answered": True}, {"reminder": True}, {"closed": True}, {"note": "Saved."}],
    ids=["fresh", "answered", "reminder", "closed", "note"],
)
@pytest.mark.parametrize("language", ["en", "da"])
def test_every_prompt_variant_is_a_valid_card(variant: dict[str, Any], language: str) -> None:
    prompt = Prompt(round_id=7, period="2026-W48", rule=CALL_ME_WAY[2], language=language)  # type: ignore[arg-type]
    card = render_prompt_card(prompt, **variant)
    assert validate_adaptive_card(card) == []
    assert CALL_ME_WAY[2].text(prompt.language) in json.dumps(card, ensure_ascii=False)


def test_the_prompt_has_five_scores_a_story_and_three_sharing_choices() -> None:
    card = render_prompt_card(PROMPT)
    scores = [a for a in _actions(card) if a["verb"] == SCORE_VERB]
    assert [a["data"]["score"] for a in scores] == [1, 2, 3, 4, 5]
    for action in scores:
        assert action["type"] == "Action.Execute"
        assert action["fallback"]["type"] == "Action.Submit"
        assert action["fallback"]["data"] == action["data"]  # the fallback says the same
        assert action["data"]["round"] == 7
        assert action["associatedInputs"] == "none"  # a score never carries a draft story
    [story] = [a for a in _actions(card) if a["verb"] == STORY_VERB]
    assert story["associatedInputs"] == "auto"
    [text_input] = [e for e in card["body"] if e["type"] == "Input.Text"]
    assert text_input["maxLength"] == MAX_STORY_LENGTH == 2000
    [choices] = [e for e in card["body"] if e["type"] == "Input.ChoiceSet"]
    assert [c["value"] for c in choices["choices"]] == [v.value for v in Visibility]
    assert choices["value"] == Visibility.ANONYMOUS.value


def test_an_answered_prompt_says_so_but_never_which_score() -> None:
    fresh, answered = render_prompt_card(PROMPT), render_prompt_card(PROMPT, answered=True)
    assert "Answered" in json.dumps(answered)
    assert "Answered" not in json.dumps(fresh)
    assert _actions(fresh) == _actions(answered)  # no button is marked


def test_a_closed_prompt_takes_no_more_answers() -> None:
    assert _actions(render_prompt_card(PROMPT, closed=True)) == []


def test_user_text_cannot_become_markdown() -> None:
    story = "**Bold** [link](https://evil.example) - list _x_ <at>everyone</at> # title"
    card = render_parts_card(
        [
            Heading("Report"),
            Note("small print"),
            Paragraph("Index 61", strong=True),
            Table("Week by week", ("Week", "Index"), (("2026-W47", "61"),)),
            Quote(text=story, author_user_id="a", footer="2026-W47 · #3", author_name="*Ida*"),
        ],
        "en",
        chart=(b"\x89PNG fake", "Trust index per rule, last 4 weeks"),
    )
    assert validate_adaptive_card(card) == []
    [quote] = [e for e in card["body"] if e["type"] == "Container"]
    said, by = (item["text"] for item in quote["items"])
    assert said == escape_markdown(story)
    assert "[link](" not in said
    assert "**Bold**" not in said
    assert by.startswith("— \\*Ida\\* · ")  # the author's name is user text too
    [image] = [e for e in card["body"] if e["type"] == "Image"]
    assert image["url"].startswith("data:image/png;base64,")
    assert image["altText"] == "Trust index per rule, last 4 weeks"


def test_a_text_card_is_valid() -> None:
    assert validate_adaptive_card(render_text_card("Sorry.")) == []
