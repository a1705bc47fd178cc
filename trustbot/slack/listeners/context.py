"""How listeners reach the core: their dependencies travel in bolt's request context."""

from __future__ import annotations

from dataclasses import dataclass, field

from slack_bolt.context.async_context import AsyncBoltContext

from trustbot.concurrency import BackgroundWork, KeyedLocks
from trustbot.core.services import Services

DEPS_KEY = "trustbot_deps"


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
