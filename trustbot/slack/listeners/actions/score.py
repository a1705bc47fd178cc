"""A click on a 1-5 score button in a prompt."""

from __future__ import annotations

from logging import Logger
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from trustbot.core.anecdotes import stories_by
from trustbot.core.catalogue import text
from trustbot.core.pulse import InvalidAnswerError, parse_score_value, record_pulse_answer
from trustbot.slack.listeners.context import services_of
from trustbot.slack.listeners.prompt_message import PromptMessage, find_prompt_round


async def handle_score_click(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    logger: Logger,
) -> None:
    """Record the score (once per person per round), then show it in the prompt message."""
    await ack()
    services = services_of(context)
    message = PromptMessage.from_body(body)
    language = services.language
    try:
        round_id, score = parse_score_value(str(body["actions"][0].get("value", "")))
    except InvalidAnswerError as error:
        logger.warning("refused a score click: %s", error)
        await message.explain(client, text("error.bad_action", language))
        return
    respondent = services.pseudonym(message.user_id)
    try:
        async with services.sessions() as session, session.begin():
            found = await find_prompt_round(
                session=session, message=message, round_id=round_id, respondent=respondent
            )
            if found is None:
                logger.warning("refused a score click for round %s: not this prompt", round_id)
                await message.explain(client, text("error.unknown_round", language))
                return
            await record_pulse_answer(
                session=session,
                round_id=round_id,
                respondent=respondent,
                score=score,
                now=services.now(),
            )
            stories = await stories_by(session=session, round_id=round_id, author=respondent)
    except SQLAlchemyError:
        logger.exception("could not store a pulse answer")
        await message.explain(client, text("error.save_failed", language))
        return
    await message.show_answers(
        client, round_=found, language=language, score=score, stories=stories
    )
