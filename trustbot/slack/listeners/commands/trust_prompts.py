"""/trust-prompts [pause|resume]: a person pauses or resumes their own prompts."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from sqlalchemy.exc import SQLAlchemyError

from trustbot.core.catalogue import text
from trustbot.core.people import is_paused, language_of, set_paused
from trustbot.core.prompts import Actor
from trustbot.db.errors import describe_database_error
from trustbot.slack.listeners.context import ListenerDeps, deps_of
from trustbot.slack.listeners.prompt_message import PLATFORM

TRUST_PROMPTS_COMMAND = "/trust-prompts"
logger = logging.getLogger(__name__)


async def handle_trust_prompts(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """Acknowledge at once; answer privately after the ack."""
    await ack()
    deps = deps_of(context)
    deps.work.spawn(answer_trust_prompts(deps, command, respond), what="/trust-prompts")


async def answer_trust_prompts(
    deps: ListenerDeps, command: dict[str, Any], respond: AsyncRespond
) -> None:
    """`pause`, `resume`, or (no word) whether prompts are paused."""
    services = deps.services
    actor = Actor(PLATFORM, str(command["user_id"]))
    language = await language_of(services, actor=actor)
    word = str(command.get("text", "")).strip().lower()
    try:
        if word in ("pause", "stop"):
            await set_paused(services, actor=actor, paused=True)
            answer = text("pause.done", language)
        elif word in ("resume", "start"):
            await set_paused(services, actor=actor, paused=False)
            answer = text("pause.resumed", language)
        else:
            paused = await is_paused(services, actor=actor)
            answer = text("pause.status.paused" if paused else "pause.status.active", language)
    except SQLAlchemyError as error:
        logger.error("could not change prompt settings: %s", describe_database_error(error))
        answer = text("pause.failed", language)
    await respond(text=answer, response_type="ephemeral")
