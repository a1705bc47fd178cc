"""Adaptive Cards 1.5 for Teams, as plain dicts: the prompt, the report, the digest.

Pure functions, validated against Microsoft's Adaptive Cards 1.5 JSON schema in the tests. The
prompt's buttons are Action.Execute (Teams answers with the refreshed card) with an
Action.Submit fallback for clients that lack it.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from trustbot.core.anecdotes import MAX_STORY_LENGTH
from trustbot.core.catalogue import Language, score_label, text
from trustbot.core.ports import Prompt
from trustbot.core.pulse import MAX_SCORE, MIN_SCORE
from trustbot.core.reports import TrustReport
from trustbot.kinds import Visibility
from trustbot.render.report import Heading, Note, Paragraph, Part, Quote, Table

Card = dict[str, Any]
Element = dict[str, Any]
CARD_VERSION = "1.5"
SCORE_VERB, STORY_VERB = "trustbot.score", "trustbot.story"
STORY_INPUT, VISIBILITY_INPUT = "story", "visibility"
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!>|~<])")


def escape_markdown(user_text: str) -> str:
    """User text for a TextBlock: Teams renders a markdown subset, so nothing may become a
    link, emphasis or list."""
    return _MARKDOWN.sub(r"\\\1", user_text)


def card(body: list[Element], actions: list[Element] | None = None) -> Card:
    """An Adaptive Card 1.5 with the full width of the chat."""
    built: Card = {
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
        "msteams": {"width": "Full"},
    }
    if actions:
        built["actions"] = actions
    return built


def render_prompt_card(
    prompt: Prompt,
    *,
    answered: bool = False,
    reminder: bool = False,
    closed: bool = False,
    note: str | None = None,
) -> Card:
    """The week's prompt: the rule, five score buttons, a story field and who may see it.

    The card stays in the chat history: once answered it says so, never which score.
    """
    language = prompt.language
    body: list[Element] = []
    if reminder:
        body.append(_text(text("prompt.reminder", language), subtle=True))
    body += [
        _text(text("prompt.header", language), size="Medium", bold=True),
        _text(prompt.rule.text(language), style="quote"),
    ]
    if closed:
        body.append(_text(text("prompt.closed", language), subtle=True))
        if note:  # e.g. that a click after the close changed nothing
            body.append(_text(note, bold=True))
        return card(body)
    body.append(_text(text("prompt.question", language).strip("*"), bold=True))
    body.append({"type": "ActionSet", "actions": [_score_action(prompt, n) for n in _scores()]})
    hint = "prompt.answered_teams" if answered else "prompt.scale_hint"
    body.append(_text(text(hint, language), subtle=True))
    if note:
        body.append(_text(note, bold=True))
    body += [
        _text(text("prompt.story_invite", language)),
        {
            "type": "Input.Text",
            "id": STORY_INPUT,
            "isMultiline": True,
            "maxLength": MAX_STORY_LENGTH,
            "label": text("story.text_label", language),
            "placeholder": text("story.text_placeholder", language),
        },
        {
            "type": "Input.ChoiceSet",
            "id": VISIBILITY_INPUT,
            "label": text("story.visibility_label", language),
            "value": Visibility.ANONYMOUS.value,
            "choices": [
                {"title": text(f"story.visibility.{choice.value}", language), "value": choice.value}
                for choice in Visibility
            ],
        },
    ]
    story = _execute(text("prompt.story_button", language), STORY_VERB, {"round": prompt.round_id})
    story["associatedInputs"] = "auto"
    return card(body, [story])


def _scores() -> range:
    return range(MIN_SCORE, MAX_SCORE + 1)


def _score_action(prompt: Prompt, score: int) -> Element:
    title = f"{score} · {score_label(score, prompt.language)}"
    action = _execute(title, SCORE_VERB, {"round": prompt.round_id, "score": score})
    action["associatedInputs"] = "none"  # a score click must not carry a half-written story
    return action


def _execute(title: str, verb: str, data: dict[str, Any]) -> Element:
    """Action.Execute, falling back to Action.Submit (the verb travels in the data)."""
    payload = {"trustbot": verb, **data}
    return {
        "type": "Action.Execute",
        "title": title,
        "verb": verb,
        "data": payload,
        "fallback": {"type": "Action.Submit", "title": title, "data": payload},
    }


def render_text_card(message: str) -> Card:
    """A card with one line (a refusal, a confirmation)."""
    return card([_text(message)])


def render_report_card(
    parts: list[Part], report: TrustReport, language: Language, *, chart: bytes
) -> Card:
    """A report or digest (the neutral composition) as a card, ending with its trend chart
    (`chart`: the PNG that teams/charts.py drew)."""
    title = text("report.chart_title", language, weeks=len(report.chart_periods))
    return render_parts_card(parts, language, chart=(chart, title))


def render_parts_card(
    parts: list[Part], language: Language, *, chart: tuple[bytes, str] | None = None
) -> Card:
    """A composition as a card, with a PNG image (and its alt text) at the end if given."""
    body: list[Element] = []
    for part in parts:
        if isinstance(part, Heading):
            body.append(_text(part.text, size="Large", bold=True))
        elif isinstance(part, Note):
            body.append(_text(part.text, subtle=True))
        elif isinstance(part, Paragraph):
            body.append(_text(part.text, bold=part.strong))
        elif isinstance(part, Table):
            body.append(_text(part.title, bold=True))
            body.append(_table(part))
        elif isinstance(part, Quote):
            author = (
                part.author_name
                if part.author_name
                else text(
                    "report.colleague" if part.author_user_id else "report.anonymous", language
                )
            )
            body.append(
                {
                    "type": "Container",
                    "style": "emphasis",
                    "items": [
                        _text(escape_markdown(part.text)),
                        _text(f"— {escape_markdown(author)} · {part.footer}", subtle=True),
                    ],
                }
            )
    if chart is not None:
        png, alt_text = chart
        body.append(
            {
                "type": "Image",
                "url": "data:image/png;base64," + base64.b64encode(png).decode(),
                "altText": alt_text,
                "size": "Stretch",
            }
        )
    return card(body)


def _table(table: Table) -> Element:
    def row(cells: tuple[str, ...], *, header: bool = False) -> Element:
        return {
            "type": "TableRow",
            "cells": [
                {"type": "TableCell", "items": [_text(cell, bold=header, small=True)]}
                for cell in cells
            ],
        }

    return {
        "type": "Table",
        "columns": [{"width": 3 if index == 0 else 2} for index in range(len(table.header))],
        "firstRowAsHeader": True,
        "showGridLines": False,
        "rows": [row(table.header, header=True), *(row(cells) for cells in table.rows)],
    }


def _text(
    value: str,
    *,
    size: str | None = None,
    bold: bool = False,
    subtle: bool = False,
    small: bool = False,
    style: str | None = None,
) -> Element:
    block: Element = {"type": "TextBlock", "text": value or " ", "wrap": True}
    if size:
        block["size"] = size
    if small:
        block["size"] = "Small"
    if bold:
        block["weight"] = "Bolder"
    if subtle:
        block["isSubtle"] = True
    if style == "quote":
        block["fontType"] = "Default"
        block["color"] = "Accent"
    return block


def invoke_card_response(refreshed: Card) -> dict[str, Any]:
    """What an Action.Execute invoke answers: the card that replaces the one clicked."""
    return _invoke_response("application/vnd.microsoft.card.adaptive", refreshed)


def invoke_message_response(message: str) -> dict[str, Any]:
    """An Action.Execute answer that leaves the card as it is and shows the person a message."""
    return _invoke_response("application/vnd.microsoft.activity.message", message)


def _invoke_response(kind: str, value: Card | str) -> dict[str, Any]:
    return {"status": 200, "body": {"statusCode": 200, "type": kind, "value": value}}
