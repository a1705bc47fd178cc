"""A click on a 1-5 score button in a prompt."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from trustbot.core.catalogue import text
from trustbot.core.people import language_of
from trustbot.core.prompts import ScoreOutcome, parse_action_time, prompt_state, record_score
from trustbot.core.pulse import InvalidAnswerError, parse_score_value
from trustbot.db.errors import describe_database_error
from trustbot.slack.blocks.prompt import render_score_confirmation
from trustbot.slack.listeners.context import ListenerDeps, deps_of
from trustbot.slack.listeners.prompt_message import PromptClick, show_prompt_state

logger = logging.getLogger(__name__)


async def handle_score_click(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Acknowledge at once; store and confirm after the ack."""
    await ack()
    deps = deps_of(context)
    deps.work.spawn(apply_score_click(deps, client, body), what="a score click")


async def apply_score_click(
    deps: ListenerDeps, client: AsyncWebClient, body: dict[str, Any]
) -> None:
    """Store the score if it is the person's newest click, then confirm the stored score."""
    services = deps.services
    click = PromptClick.from_body(body)
    language = await language_of(services, actor=click.actor)
    try:
        round_id, score = parse_score_value(click.value)
        acted_us = parse_action_time(click.action_ts)
    except InvalidAnswerError as error:
        logger.warning("refused a score click: %s", error)
        await click.tell(client, text("error.bad_action", language))
        return
    async with deps.prompt_locks.hold(click.lock_key):
        try:
            result = await record_score(
                services,
                actor=click.actor,
                address=click.address,
                round_id=round_id,
                score=score,
                acted_us=acted_us,
            )
        except SQLAlchemyError as error:
            logger.error("could not store a pulse answer: %s", describe_database_error(error))
            await click.tell(client, text("error.save_failed", language))
            return
        if result.outcome is ScoreOutcome.REFUSED:
            logger.warning(
                "refused a score click for round %s: not this person's prompt, "
                "or dated outside the round",
                round_id,
            )
            await click.tell(client, text("error.unknown_round", language))
            return
        if result.outcome is ScoreOutcome.CLOSED:
            await click.tell(client, text("error.round_closed", language))
        elif result.score is not None:
            await click.tell(client, render_score_confirmation(result.score, language))
        if result.first_answer or result.outcome is ScoreOutcome.CLOSED:
            state = await prompt_state(
                services, actor=click.actor, address=click.address, round_id=round_id
            )
            if state is not None:
                await show_prompt_state(client, click, state, language)
