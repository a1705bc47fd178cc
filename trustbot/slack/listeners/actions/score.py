"""A click on a 1-5 score button in a prompt."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from trustbot.core.interactions import score_click
from trustbot.core.prompts import parse_action_time
from trustbot.core.pulse import InvalidAnswerError, parse_score_value
from trustbot.slack.blocks.prompt import render_score_confirmation
from trustbot.slack.listeners.context import ListenerDeps, after_ack
from trustbot.slack.listeners.prompt_message import PromptClick, show_prompt_state


async def apply_score_click(
    deps: ListenerDeps, client: AsyncWebClient, body: dict[str, Any]
) -> None:
    """Hand the click to the core; confirm the stored score privately, redraw the prompt."""
    click = PromptClick.from_body(body)
    round_id: int | None = None
    score: int | None = None
    acted_us: int | None = None
    try:
        round_id, score = parse_score_value(click.value)
        acted_us = parse_action_time(click.action_ts)
    except InvalidAnswerError:
        pass  # the core refuses the click and says so
    async with deps.prompt_locks.hold(click.lock_key):
        answer = await score_click(
            deps.services,
            actor=click.actor,
            address=click.address,
            round_id=round_id,
            score=score,
            acted_us=acted_us,
        )
        if answer.note is not None:
            await click.tell(client, answer.note)
        elif answer.score is not None:
            await click.tell(client, render_score_confirmation(answer.score, answer.language))
        if answer.changed and answer.prompt is not None:
            await show_prompt_state(client, click, answer.prompt, answer.language)


handle_score_click = after_ack(apply_score_click, what="a score click")
