"""The "share a story" modal."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from trustbot.core.anecdotes import MAX_STORY_LENGTH
from trustbot.core.catalogue import Language, text
from trustbot.core.rules import Rule
from trustbot.kinds import Visibility
from trustbot.slack.blocks.ids import (
    STORY_CALLBACK,
    STORY_TEXT_ACTION,
    STORY_TEXT_BLOCK,
    STORY_VISIBILITY_ACTION,
    STORY_VISIBILITY_BLOCK,
)

MODAL_TITLE_LIMIT = 24
MAX_ROUND_ID = 2**31 - 1


@dataclass(frozen=True, slots=True)
class StoryContext:
    """What the modal remembers about where it was opened (Slack's private_metadata)."""

    round_id: int
    channel_id: str | None
    message_ts: str | None

    def encode(self) -> str:
        """As private_metadata."""
        return json.dumps({"r": self.round_id, "c": self.channel_id, "t": self.message_ts})

    @classmethod
    def decode(cls, metadata: str) -> StoryContext:
        """From private_metadata; ValueError when it is not ours."""
        data = json.loads(metadata)
        if not isinstance(data, dict):
            raise ValueError("private_metadata is not an object")
        round_id = data["r"]
        if not isinstance(round_id, int) or isinstance(round_id, bool):
            raise ValueError("bad round id in private_metadata")
        if not 0 < round_id <= MAX_ROUND_ID:  # a database integer: 2**70 would not bind
            raise ValueError("round id out of range in private_metadata")
        channel, ts = data.get("c"), data.get("t")
        return cls(
            round_id,
            channel if isinstance(channel, str) else None,
            ts if isinstance(ts, str) else None,
        )


def render_story_modal(rule: Rule, language: Language, context: StoryContext) -> dict[str, Any]:
    """The modal view: the rule, a story text field and who may see it."""
    options = [
        {
            "text": {
                "type": "plain_text",
                "text": text(f"story.visibility.{choice.value}", language),
            },
            "value": choice.value,
        }
        for choice in (Visibility.NAMED, Visibility.ANONYMOUS, Visibility.PRIVATE)
    ]
    return {
        "type": "modal",
        "callback_id": STORY_CALLBACK,
        "private_metadata": context.encode(),
        "title": {"type": "plain_text", "text": text("story.title", language)[:MODAL_TITLE_LIMIT]},
        "submit": {"type": "plain_text", "text": text("story.submit", language)},
        "close": {"type": "plain_text", "text": text("story.cancel", language)},
        "blocks": [
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": text("story.rule_context", language, rule=rule.text(language)),
                    }
                ],
            },
            {
                "type": "input",
                "block_id": STORY_TEXT_BLOCK,
                "label": {"type": "plain_text", "text": text("story.text_label", language)},
                "element": {
                    "type": "plain_text_input",
                    "action_id": STORY_TEXT_ACTION,
                    "multiline": True,
                    "max_length": MAX_STORY_LENGTH,
                    "placeholder": {
                        "type": "plain_text",
                        "text": text("story.text_placeholder", language),
                    },
                },
            },
            {
                "type": "input",
                "block_id": STORY_VISIBILITY_BLOCK,
                "label": {"type": "plain_text", "text": text("story.visibility_label", language)},
                "element": {
                    "type": "radio_buttons",
                    "action_id": STORY_VISIBILITY_ACTION,
                    "options": options,
                    "initial_option": options[1],
                },
            },
        ],
    }


def story_errors(message: str) -> dict[str, str]:
    """The `errors` of a `response_action: errors` answer, shown under the text field."""
    return {STORY_TEXT_BLOCK: message}


def render_story_saved_view(visibility: Visibility, language: Language) -> dict[str, Any]:
    """The modal's last screen after a saved story: what will happen to it."""
    return {
        "type": "modal",
        "title": {
            "type": "plain_text",
            "text": text("story.saved.title", language)[:MODAL_TITLE_LIMIT],
        },
        "close": {"type": "plain_text", "text": text("story.saved.close", language)},
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": text(f"story.saved.{visibility.value}", language),
                },
            }
        ],
    }
