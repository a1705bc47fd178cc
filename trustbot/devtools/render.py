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


_MARKDOWN_ESCAPE = re.compile(r"\\(.)")


def render_card_as_text(card: Mapping[str, Any]) -> str:
    """An Adaptive Card (as trustbot builds them) as lines of text: text blocks, tables,
    quotes, images by their alt text and buttons by their titles."""
    lines: list[str] = []
    _card_lines(card.get("body", []), lines, indent="")
    actions = card.get("actions", [])
    if actions:
        lines.append(_buttons(actions))
    return "\n".join(lines).strip("\n")


def _card_lines(elements: list[Mapping[str, Any]], lines: list[str], indent: str) -> None:
    for element in elements:
        kind = element.get("type")
        if kind == "TextBlock":
            value = _MARKDOWN_ESCAPE.sub(r"\1", str(element.get("text", "")))
            if element.get("size") == "Large":
                lines += ["", value, "═" * len(value)]
            else:
                lines += [indent + line for line in value.splitlines()]
        elif kind == "Container":
            lines.append("")
            _card_lines(element.get("items", []), lines, indent=indent + "  │ ")
        elif kind == "Table":
            rows = [
                [
                    " ".join(str(item.get("text", "")) for item in cell.get("items", [])).strip()
                    for cell in row.get("cells", [])
                ]
                for row in element.get("rows", [])
            ]
            widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(len(rows[0]))]
            for row in rows:
                lines.append(
                    indent + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row))
                )
        elif kind == "Image":
            lines.append(f"{indent}[image: {element.get('altText', 'chart')}]")
        elif kind == "ActionSet":
            lines.append(indent + _buttons(element.get("actions", [])))
        elif kind and kind.startswith("Input."):
            lines.append(f"{indent}[{element.get('label', kind)}: ________ ]")


def _buttons(actions: list[Mapping[str, Any]]) -> str:
    return " ".join(f"[ {action.get('title', '')} ]" for action in actions)
