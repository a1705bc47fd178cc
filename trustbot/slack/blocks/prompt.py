"""The weekly prompt message: the rule, five score buttons and a story button."""

from __future__ import annotations

from typing import Any

from trustbot.core.catalogue import Language, score_label, text
from trustbot.core.ports import Prompt
from trustbot.core.pulse import MAX_SCORE, MIN_SCORE, score_value
from trustbot.core.rules import Rule
from trustbot.slack.blocks.ids import (
    PAUSE_VALUE,
    PROMPT_ANSWER_BLOCK,
    PROMPT_MENU_ACTION,
    SCORE_ACTION_PREFIX,
    SHARE_STORY_ACTION,
)

Block = dict[str, Any]


def prompt_fallback_text(rule: Rule, language: Language) -> str:
    """The plain text for notifications and clients that cannot show blocks."""
    return text("prompt.fallback", language, rule=rule.text(language))


def render_prompt_blocks(
    prompt: Prompt, *, answered: bool = False, reminder: bool = False, closed: bool = False
) -> list[Block]:
    """The prompt as Block Kit; once answered it says so, but never which score was chosen.

    The message stays in the person's DM history, and so in Slack exports: the score itself is
    confirmed only privately (see `render_score_confirmation`). A reminder carries the same
    prompt with a gentle first line; a closed round's prompt keeps the rule and drops the
    buttons.
    """
    language = prompt.language
    blocks: list[Block] = []
    if reminder:
        blocks.append(_context(text("prompt.reminder", language)))
    blocks += [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": text("prompt.header", language)},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": f"> {prompt.rule.text(language)}"}},
    ]
    if closed:
        return [*blocks, _context(text("prompt.closed", language))]
    hint = text("prompt.answered" if answered else "prompt.scale_hint", language)
    return [
        *blocks,
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": text("prompt.question", language)},
            "accessory": {
                "type": "overflow",
                "action_id": PROMPT_MENU_ACTION,
                "options": [
                    {
                        "text": {"type": "plain_text", "text": text("prompt.pause", language)},
                        "value": PAUSE_VALUE,
                    }
                ],
            },
        },
        {
            "type": "actions",
            "block_id": PROMPT_ANSWER_BLOCK,
            "elements": [_score_button(prompt, score) for score in range(MIN_SCORE, MAX_SCORE + 1)],
        },
        _context(hint),
        {"type": "divider"},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": text("prompt.story_invite", language)},
            "accessory": {
                "type": "button",
                "action_id": SHARE_STORY_ACTION,
                "text": {"type": "plain_text", "text": text("prompt.story_button", language)},
                "value": str(prompt.round_id),
            },
        },
    ]


def _context(mrkdwn: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn}]}


def render_score_confirmation(score: int, language: Language) -> str:
    """The private (ephemeral) confirmation of the score stored for the person."""
    return text("confirm.score", language, score=score, label=score_label(score, language))


def _score_button(prompt: Prompt, score: int) -> Block:
    return {
        "type": "button",
        "action_id": f"{SCORE_ACTION_PREFIX}{score}",
        "text": {
            "type": "plain_text",
            "text": f"{score} · {score_label(score, prompt.language)}",
        },
        "value": score_value(prompt.round_id, score),
    }
