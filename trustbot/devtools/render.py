"""Block Kit rendered as plain terminal text, for the demo and `trustbot report`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)>")
_BOLD = re.compile(r"(?<!\w)\*(\S[^*\n]*?)\*(?!\w)")
_CODE = re.compile(r"`([^`\n]+)`")
_ITALIC = re.compile(r"(?<!\w)_(\S[^_\n]*?)_(?!\w)")


def render_mrkdwn(text: str, names: Mapping[str, str]) -> str:
    """Slack mrkdwn as terminal text: mentions as @name, fences and emphasis dropped."""
    text = text.replace("```\n", "").replace("\n```", "").replace("```", "")
    text = _MENTION.sub(lambda match: "@" + names.get(match.group(1), match.group(1)), text)
    text = _CODE.sub(r"\1", text)
    text = _BOLD.sub(r"\1", text)
    text = _ITALIC.sub(r"\1", text)
    text = "\n".join(
        "  │ " + line[1:] if line.startswith(">") else line for line in text.splitlines()
    )
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def render_blocks_as_text(
    blocks: list[dict[str, Any]], names: Mapping[str, str] | None = None
) -> str:
    """Header, section, context and divider blocks as lines of text."""
    names = names or {}
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = str(block["text"]["text"])
            lines += ["", title, "═" * len(title)]
        elif kind == "section":
            lines += ["", render_mrkdwn(str(block["text"]["text"]), names)]
        elif kind == "context":
            lines += [
                render_mrkdwn(str(element.get("text", "")), names)
                for element in block.get("elements", [])
            ]
        elif kind == "divider":
            lines += ["", "─" * 72]
    return "\n".join(lines).strip("\n")
