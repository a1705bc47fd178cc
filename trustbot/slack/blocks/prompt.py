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


def render_prompt_blocks(
    prompt: Prompt, *, chosen_score: int | None = None, stories_shared: int = 0
) -> list[Block]:
    """The prompt as Block Kit, showing the person's answer so far if they gave one."""
    language = prompt.language
    blocks: list[Block] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": text("prompt.header", language)},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": f"> {prompt.rule.text(language)}"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": text("prompt.question", language)}},
        {
            "type": "actions",
            "block_id": PROMPT_ANSWER_BLOCK,
            "elements": [
                _score_button(prompt, score, chosen=score == chosen_score)
                for score in range(MIN_SCORE, MAX_SCORE + 1)
            ],
        },
    ]
    if chosen_score is None:
        hint = text("prompt.scale_hint", language)
    else:
        label = score_label(chosen_score, language)
        hint = text("prompt.thanks", language, score=chosen_score, label=label)
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": hint}]})
    blocks.append({"type": "divider"})
    story_text = text("prompt.story_invite", language)
    if stories_shared:
        story_text += "\n" + text("prompt.story_thanks", language, count=stories_shared)
    blocks.append(
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": story_text},
            "accessory": {
                "type": "button",
                "action_id": SHARE_STORY_ACTION,
                "text": {"type": "plain_text", "text": text("prompt.story_button", language)},
                "value": str(prompt.round_id),
            },
        }
    )
    return blocks


def _score_button(prompt: Prompt, score: int, *, chosen: bool) -> Block:
    button: Block = {
        "type": "button",
        "action_id": f"{SCORE_ACTION_PREFIX}{score}",
        "text": {
            "type": "plain_text",
            "text": f"{score} · {score_label(score, prompt.language)}",
        },
        "value": score_value(prompt.round_id, score),
    }
    if chosen:
        button["style"] = "primary"
    return button
