"""What the core needs from a chat platform: the Notifier protocol and neutral message types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from trustbot.core.catalogue import Language
from trustbot.core.rules import Rule

if TYPE_CHECKING:
    from trustbot.core.reports import TrustReport


@dataclass(frozen=True, slots=True)
class Prompt:
    """This period's prompt, as one recipient sees it before answering."""

    round_id: int
    period: str
    rule: Rule
    language: Language


@dataclass(frozen=True, slots=True)
class Person:
    """Someone in the audience, as their platform names them; `tz` is their own time zone."""

    user_id: str
    tz: str | None = None


@dataclass(frozen=True, slots=True)
class SentMessage:
    """Where a platform put a message, so it can be found and updated later."""

    channel_id: str
    message_ts: str


class DeliveryError(Exception):
    """The platform did not take a message.

    `reason` is its short error code (never a secret). `permanent` means trying again cannot
    help (the person or channel is gone); `retry_after` (seconds) means the platform asked us to
    slow down; `pause_all` means nothing can be sent for that long (the app's token was
    refused), so the whole sender waits instead of failing everyone in turn.
    """

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        pause_all: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after
        self.pause_all = pause_all


class Notifier(Protocol):
    """A chat platform that can find the audience and deliver the outbox's messages."""

    platform: str
    digest_targets: list[str]  # where the leadership digest goes (channels, conversations)

    async def resolve_audience(self) -> list[Person]:
        """Every active human in the configured audience."""
        ...

    async def resolve_teams(self) -> dict[str, str]:
        """Each person's team (user id to team name), for reports broken down by team."""
        ...

    async def send_prompt(self, user_id: str, prompt: Prompt, *, reminder: bool) -> SentMessage:
        """Send the prompt (or a reminder carrying it) to one person; DeliveryError if refused."""
        ...

    async def send_digest(self, channel_id: str, report: TrustReport) -> SentMessage:
        """Post a period's report to a leadership channel; DeliveryError if refused."""
        ...
