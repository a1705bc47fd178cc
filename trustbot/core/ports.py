"""What the core needs from a chat platform: the Notifier protocol and neutral message types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from trustbot.core.catalogue import Language
from trustbot.core.rules import Rule


@dataclass(frozen=True, slots=True)
class Prompt:
    """This period's prompt, as one recipient sees it before answering."""

    round_id: int
    period: str
    rule: Rule
    language: Language


@dataclass(frozen=True, slots=True)
class SentMessage:
    """Where a platform put a message, so it can be updated in place later."""

    channel_id: str
    message_ts: str


class DeliveryError(Exception):
    """The platform refused a message; `reason` is its short error code (never a secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Notifier(Protocol):
    """A chat platform that can find the audience and deliver prompts to it."""

    platform: str

    async def resolve_audience(self) -> list[str]:
        """The platform user ids of every active human in the configured audience."""
        ...

    async def send_prompt(self, user_id: str, prompt: Prompt) -> SentMessage:
        """Send the prompt to one person; raise DeliveryError when the platform refuses."""
        ...
