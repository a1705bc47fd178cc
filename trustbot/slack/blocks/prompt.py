"""The weekly prompt message: the rule, five score buttons and a story button."""

from __future__ import annotations

from typing import Any

from trustbot.core.catalogue import Language, score_label, text
from trustbot.core.ports import Prompt
from trustbot.core.pulse import MAX_SCORE, MIN_SCORE, score_value
from trustbot.core.rules import Rule
from trustbot.slack.blocks.ids import PROMPT_ANSWER_BLOCK, SCORE_ACTION_PREFIX, SHARE_STORY_ACTION

Block = dict[str, Any]


def prompt_fallback_text(rule: Rule, language: Language) -> str:
    """The plain text for notifications and clients that cannot show blocks."""
    return text("prompt.fallback", language, rule=rule.text(language))


def render_prompt_blocks(prompt: Prompt, *, answered: bool = False) -> list[Block]:
    """The prompt as Block Kit; once answered it says so, but never which score was chosen.

    The message stays in the person's DM history, and so in Slack exports: the score itself is
    confirmed only privately (see `render_score_confirmation`).
    """
    language = prompt.language
    hint = text("prompt.answered" if answered else "prompt.scale_hint", language)
    return [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": text("prompt.header", language)},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": f"> {prompt.rule.text(language)}"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": text("prompt.question", language)}},
        {
            "type": "actions",
            "block_id": PROMPT_ANSWER_BLOCK,
            "elements": [_score_button(prompt, score) for score in range(MIN_SCORE, MAX_SCORE + 1)],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": hint}]},
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
