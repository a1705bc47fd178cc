"""The Notifier for Teams: the audience from stored installations, proactive cards.

Every message goes through the outbox sender like Slack's; this maps what the Bot Connector
answers onto its rules: 429 waits for Retry-After and slows the sender; 412, 5xx and dropped
connections back off and retry; 403 / 404 (the app was uninstalled, the person left) fail at
once and the person is no longer prompted.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import httpx

from trustbot.core.catalogue import Language
from trustbot.core.ports import DeliveryError, Person, Prompt, SentMessage
from trustbot.core.reports import TrustReport
from trustbot.core.services import Services
from trustbot.delivery.retry_after import rate_limited
from trustbot.render.report import compose_digest
from trustbot.teams.cards import Card, render_prompt_card, render_report_card
from trustbot.teams.charts import card_chart
from trustbot.teams.references import (
    ConversationRef,
    installed_people,
    mark_unreachable,
    reference_for_conversation,
    reference_for_person,
)

if TYPE_CHECKING:
    from microsoft_teams.apps import App

logger = logging.getLogger(__name__)
PLATFORM = "teams"
RETRIED_STATUSES = frozenset({408, 412, 500, 502, 503, 504})
GONE_STATUSES = frozenset({403, 404})


class TeamsNotifier:
    """Sends prompts to people who installed the app, and digests to leadership conversations."""

    platform = PLATFORM

    def __init__(
        self,
        services: Services,
        app: App,
        *,
        audience: list[str],
        leadership_conversations: list[str],
        default_service_url: str,
        language: Language,
        timezone: str,
    ) -> None:
        self._services = services
        self._app = app
        self._audience = {aad_id.lower() for aad_id in audience}
        self.digest_targets = list(leadership_conversations)
        self._default_service_url = default_service_url
        self._language: Language = language
        self._timezone = timezone

    async def resolve_audience(self) -> list[Person]:
        """Everyone who installed the app personally (narrowed by TRUSTBOT_TEAMS_AUDIENCE)."""
        people = await installed_people(self._services)
        if self._audience:
            people = [person for person in people if person.lower() in self._audience]
        return [Person(person) for person in people]

    async def resolve_teams(self) -> dict[str, str]:
        """No team segments on Teams yet (TRUSTBOT_TEAMS maps Slack groups)."""
        return {}

    async def send_prompt(self, user_id: str, prompt: Prompt, *, reminder: bool) -> SentMessage:
        """Post the prompt card into the person's personal chat with the app."""
        ref = await reference_for_person(self._services, user_id)
        if ref is None:
            raise DeliveryError("not_installed", permanent=True)
        return await self._send(ref, render_prompt_card(prompt, reminder=reminder), person=user_id)

    async def send_digest(self, channel_id: str, report: TrustReport) -> SentMessage:
        """Post the digest, with its chart, into a leadership conversation."""
        ref = await reference_for_conversation(self._services, channel_id) or ConversationRef(
            conversation_id=channel_id, service_url=self._default_service_url
        )
        parts = compose_digest(report, language=self._language, timezone=self._timezone)
        return await self._send(
            ref,
            render_report_card(
                parts, report, self._language, chart=await card_chart(report, self._language)
            ),
        )

    async def _send(
        self, ref: ConversationRef, content: Card, *, person: str | None = None
    ) -> SentMessage:
        from microsoft_teams.api.activities.message.message import MessageActivityInput
        from microsoft_teams.api.models.attachment.attachment import Attachment

        activity = MessageActivityInput().add_attachments(
            Attachment(content_type="application/vnd.microsoft.card.adaptive", content=content)
        )
        try:
            sent = await self._app.send(ref.conversation_id, activity, service_url=ref.service_url)
        except httpx.HTTPStatusError as error:
            raise await self._delivery_error(error, person) from None
        except httpx.TransportError as error:
            raise DeliveryError(f"connection: {type(error).__name__}") from None
        return SentMessage(channel_id=ref.conversation_id, message_ts=str(sent.id))

    async def _delivery_error(
        self, error: httpx.HTTPStatusError, person: str | None
    ) -> DeliveryError:
        status = error.response.status_code
        code = _error_code(error.response)
        if status == 429:
            return rate_limited(error.response.headers.get("Retry-After"))
        if status in GONE_STATUSES:
            if person is not None:
                await mark_unreachable(self._services, person)
            return DeliveryError(code or f"http_{status}", permanent=True)
        if status == 401:  # the app's own token was refused: wait for an operator
            return DeliveryError(code or "unauthorized", retry_after=60.0, pause_all=True)
        return DeliveryError(
            code or f"http_{status}", permanent=status not in RETRIED_STATUSES and status < 500
        )


def _error_code(response: httpx.Response) -> str | None:
    """The connector's error code (e.g. ConversationNotFound), never a message body."""
    try:
        body: Any = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return str(code)[:100] if code else None
