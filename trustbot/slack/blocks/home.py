"""The App Home tab: the person's own answers beside the company, their choices, and for
report viewers the digest as it stands now (the same figures as the leadership channel's)."""

from __future__ import annotations

from typing import Any

from trustbot.core.catalogue import Language, score_label, text
from trustbot.core.format import index_text
from trustbot.core.people import HomeState
from trustbot.render.report import threshold_text
from trustbot.slack.blocks.ids import HOME_LANGUAGE_ACTION, HOME_PAUSE_ACTION
from trustbot.slack.markup import escape_mrkdwn

Block = dict[str, Any]
HOME_BLOCKS = 100  # Slack's limit for a home tab


def render_home_view(state: HomeState, *, digest: list[Block] | None = None) -> dict[str, Any]:
    """The home view; `digest` (blocks) is shown to report viewers under their own part."""
    language = state.language
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": text("home.title", language)}},
        _context(text("home.privacy", language)),
        _context(escape_mrkdwn(threshold_text(state.disclosure, language))),
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*{text('home.answers', language)}*"},
        },
    ]
    if not state.answers:
        blocks.append(_context(text("home.no_answers", language)))
    for answer in state.answers[:8]:
        mine = (
            f"{answer.score} – {score_label(answer.score, language)}"
            if answer.score is not None
            else text("home.not_answered", language)
        )
        if answer.open:
            company = text("home.open", language)
        elif answer.company_index is None:  # too few to show, by the rules every surface applies
            company = text("home.company_hidden", language)
        else:
            company = text(
                "home.company",
                language,
                index=index_text(answer.company_index, answer.company_bound),
            )
        rule = escape_mrkdwn(answer.rule.text(language))
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*{answer.period}* · #{answer.rule.position} {rule}\n"
                    f"{text('home.you', language)}: {mine} · {company}",
                },
            }
        )
    blocks += [
        {"type": "divider"},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": text("home.paused" if state.paused else "home.active", language),
            },
            "accessory": {
                "type": "button",
                "action_id": HOME_PAUSE_ACTION,
                "value": "resume" if state.paused else "pause",
                "text": {
                    "type": "plain_text",
                    "text": text("home.resume" if state.paused else "home.pause", language),
                },
            },
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": text("home.language", language)},
            "accessory": {
                "type": "static_select",
                "action_id": HOME_LANGUAGE_ACTION,
                "initial_option": _language_option(language),
                "options": [_language_option("da"), _language_option("en")],
            },
        },
    ]
    if digest:
        blocks += [{"type": "divider"}, *digest]
    return {"type": "home", "blocks": blocks[:HOME_BLOCKS]}


def _language_option(language: Language) -> dict[str, Any]:
    return {
        "text": {"type": "plain_text", "text": "Dansk" if language == "da" else "English"},
        "value": language,
    }


def _context(mrkdwn: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn}]}
