"""Block Kit's limits as Slack enforces them on messages and views."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trustbot.devtools.slack_api.workspace import SlackApiFailure

__all__ = ["MAX_TEXT", "MAX_VIEW_BLOCKS", "block_limit_problem", "message_content"]

_MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 40_000
# Block Kit's limits per block (https://docs.slack.dev/reference/block-kit/blocks): a longer text
# or more elements and Slack refuses the whole message (invalid_blocks) or view.
_MAX_SECTION_TEXT, _MAX_FIELD_TEXT, _MAX_FIELDS = 3000, 2000, 10
_MAX_HEADER_TEXT = 150
_MAX_CONTEXT_ELEMENTS, _MAX_ACTIONS_ELEMENTS = 10, 25
_MAX_BLOCK_ID = 255


def message_content(args: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """A message's text and blocks, checked as chat.postMessage checks them."""
    text = args.get("text")
    blocks = args.get("blocks")
    if not text and not blocks and not args.get("attachments"):
        raise SlackApiFailure("no_text")
    if blocks is not None:
        if not isinstance(blocks, list) or not all(
            isinstance(b, dict) and isinstance(b.get("type"), str) for b in blocks
        ):
            raise SlackApiFailure("invalid_blocks")
        if len(blocks) > _MAX_MESSAGE_BLOCKS:
            raise SlackApiFailure(
                "invalid_blocks",
                response_metadata={
                    "messages": [f"[ERROR] no more than {_MAX_MESSAGE_BLOCKS} items allowed"]
                },
            )
        problem = block_limit_problem(blocks)
        if problem is not None:
            raise SlackApiFailure(
                "invalid_blocks", response_metadata={"messages": [f"[ERROR] {problem}"]}
            )
    text_str = "" if text is None else str(text)
    if len(text_str) > MAX_TEXT:
        raise SlackApiFailure("msg_too_long")
    return text_str, list(blocks or [])


def block_limit_problem(blocks: list[Any]) -> str | None:
    """The first of Block Kit's per-block limits these blocks break (as Slack words it, with a
    JSON pointer), or None."""
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        where = f"json-pointer:/blocks/{index}"
        kind = block.get("type")
        block_id = block.get("block_id")
        if isinstance(block_id, str) and len(block_id) > _MAX_BLOCK_ID:
            return f"must be less than {_MAX_BLOCK_ID + 1} characters [{where}/block_id]"
        if kind == "section":
            too_long = _text_too_long(block.get("text"), _MAX_SECTION_TEXT, f"{where}/text")
            if too_long:
                return too_long
            fields = block.get("fields") or []
            if len(fields) > _MAX_FIELDS:
                return f"no more than {_MAX_FIELDS} items allowed [{where}/fields]"
            for number, field in enumerate(fields):
                too_long = _text_too_long(field, _MAX_FIELD_TEXT, f"{where}/fields/{number}")
                if too_long:
                    return too_long
        elif kind == "header":
            too_long = _text_too_long(block.get("text"), _MAX_HEADER_TEXT, f"{where}/text")
            if too_long:
                return too_long
        elif kind in ("context", "actions"):
            elements = block.get("elements") or []
            limit = _MAX_CONTEXT_ELEMENTS if kind == "context" else _MAX_ACTIONS_ELEMENTS
            if len(elements) > limit:
                return f"no more than {limit} items allowed [{where}/elements]"
            for number, element in enumerate(elements if kind == "context" else []):
                too_long = _text_too_long(element, _MAX_SECTION_TEXT, f"{where}/elements/{number}")
                if too_long:
                    return too_long
    return None


def _text_too_long(text_object: Any, limit: int, where: str) -> str | None:
    text = text_object.get("text") if isinstance(text_object, dict) else None
    if isinstance(text, str) and len(text) > limit:
        return f"must be less than {limit + 1} characters [{where}/text]"
    return None
