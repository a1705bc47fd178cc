"""/trust-prompts [pause|stop|resume|start]: a person pauses, resumes or checks their prompts."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond

from trustbot.core.interactions import prompts_command
from trustbot.core.prompts import Actor
from trustbot.slack.listeners.context import PLATFORM, SLACK_COMMANDS, ListenerDeps, deps_of

TRUST_PROMPTS_COMMAND = SLACK_COMMANDS.prompts


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
    """The core's answer to the command, ephemeral."""
    reply = await prompts_command(
        deps.services,
        actor=Actor(PLATFORM, str(command["user_id"])),
        arguments=str(command.get("text", "")),
    )
    await respond(text=reply.text(SLACK_COMMANDS), response_type="ephemeral")
