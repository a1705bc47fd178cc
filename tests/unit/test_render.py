"""Text renderings: Block Kit as the demo prints it (devtools), and the report as
`trustbot report` prints it (trustbot/render/text.py)."""

from __future__ import annotations

from typing import Any

from tests.factories import sample_report
from trustbot.core.reports import SharedStory
from trustbot.core.rules import CALL_ME_WAY
from trustbot.devtools.render import render_blocks_as_text, render_mrkdwn
from trustbot.render.text import render_report_text

NAMES = {"U0ALICE": "alice", "W0BOB": "bob"}


def test_mentions_become_names() -> None:
    assert render_mrkdwn("thanks <@U0ALICE> and <@W0BOB>!", NAMES) == "thanks @alice and @bob!"


def test_unknown_mention_keeps_the_id() -> None:
    assert render_mrkdwn("hi <@U0NOBODY>", NAMES) == "hi @U0NOBODY"


def test_code_fences_dropped() -> None:
    assert render_mrkdwn("```\nWeek  Rule\nW48   #1\n```", {}) == "Week  Rule\nW48   #1"
    assert render_mrkdwn("before ```inline``` after", {}) == "before inline after"


def test_entities_unescaped() -> None:
    assert render_mrkdwn("a &lt;!channel&gt; &amp; b", {}) == "a <!channel> & b"
    # An escaped entity the user typed stays visible as typed.
    assert render_mrkdwn("&amp;lt;", {}) == "&lt;"


def test_escaped_mention_is_not_turned_into_a_name() -> None:
    assert render_mrkdwn("&lt;@U0ALICE&gt;", NAMES) == "<@U0ALICE>"


def test_emphasis_and_inline_code_dropped() -> None:
    assert render_mrkdwn("*bold* _italic_ `code`", {}) == "bold italic code"
    assert render_mrkdwn("snake_case_name and 2*3*4", {}) == "snake_case_name and 2*3*4"


def test_quotes_are_indented() -> None:
    assert render_mrkdwn(">first\n>second\nplain", {}) == "  │ first\n  │ second\nplain"
    assert render_mrkdwn("> We build", {}) == "  │  We build"


def test_blocks_as_text() -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Title"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "by <@U0ALICE>"}]},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Week* &amp; more"}},
        {"type": "divider"},
        {"type": "actions", "elements": [{"type": "button", "text": {"text": "ignored"}}]},
    ]
    assert render_blocks_as_text(blocks, NAMES) == "\n".join(
        ["Title", "═════", "by @alice", "", "Week & more", "", "─" * 72]
    )


def test_blocks_as_text_without_names() -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "<@U0ALICE>"}}]
    assert render_blocks_as_text(blocks) == "@U0ALICE"
    assert render_blocks_as_text([]) == ""


def test_the_terminal_report_shows_stories_as_typed() -> None:
    story = SharedStory("2026-W47", CALL_ME_WAY[0], "Ping <!channel> & <@U0ALICE>", "U0ALICE")

    rendered = render_report_text(sample_report(stories=(story,)), language="en", timezone="UTC")

    assert "  │ Ping <!channel> & <@U0ALICE>\n  — U0ALICE · 2026-W47 · #1" in rendered
    assert "```" not in rendered
    assert "too few to show" in rendered
    assert "Trust report: the last 8 weeks" in rendered
