"""How listeners reach the core: their dependencies travel in bolt's request context."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from trustbot.concurrency import BackgroundWork, KeyedLocks
from trustbot.core.interactions import Commands
from trustbot.core.services import Services

DEPS_KEY = "trustbot_deps"
PLATFORM = "slack"
SLACK_COMMANDS = Commands(prompts="/trust-prompts", report="/trust-report")


@dataclass(frozen=True, slots=True)
class ListenerDeps:
    """The core's services, the after-ack work runner, and one lock per prompt message."""

    services: Services
    work: BackgroundWork
    # Clicks on one prompt are handled one at a time, so that the confirmation sent last is
    # rendered from the newest stored answer.
    prompt_locks: KeyedLocks = field(default_factory=KeyedLocks)


def deps_of(context: AsyncBoltContext) -> ListenerDeps:
    """The dependencies the composition root put into this request's context."""
    deps = context[DEPS_KEY]
    assert isinstance(deps, ListenerDeps)
    return deps


ActionWork = Callable[[ListenerDeps, AsyncWebClient, dict[str, Any]], Coroutine[Any, Any, None]]


def after_ack(
    work: ActionWork, *, what: str
) -> Callable[[AsyncAck, dict[str, Any], AsyncWebClient, AsyncBoltContext], Awaitable[None]]:
    """A bolt listener for a click: acknowledge at once, then run `work` in the background
    (bolt passes arguments by parameter name, so the listener spells them out)."""

    async def listener(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        await ack()
        deps = deps_of(context)
        deps.work.spawn(work(deps, client, body), what=what)

    listener.__doc__ = f"Acknowledge at once; {what} after the ack."
    return listener
