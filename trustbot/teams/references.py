"""Where trustbot can reach Teams users and conversations: stored (db/conversations.py), sealed,
keyed.

Teams has no "post to this user id": a proactive message goes to a conversation at a service URL,
both learnt from an activity (the app's installation, or a message). They are kept in the
database so every replica can send, and after restarts.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass

from trustbot.core.privacy import SealError, day_of, keyed_hash
from trustbot.core.services import Services
from trustbot.db.conversations import (
    CHANNEL,
    PERSONAL,
    mark_uninstalled,
    sealed_conversation,
    sealed_installed_people,
    store_conversation,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConversationRef:
    """A Teams conversation the bot can post to."""

    conversation_id: str
    service_url: str
    tenant_id: str | None = None
    user_id: str | None = None  # the person's Entra object id, for a personal conversation


def person_key(services: Services, aad_id: str) -> str:
    """The key of a person's personal conversation."""
    return services.keys.teams_person_key(aad_id)


def conversation_key(services: Services, conversation_id: str) -> str:
    """The key of a team or group conversation."""
    return keyed_hash("teams-conversation", conversation_id, key=services.keys.key)


async def remember(services: Services, ref: ConversationRef, *, installed: bool = True) -> None:
    """Store (or refresh) a conversation reference: personal when it names a user."""
    kind = PERSONAL if ref.user_id else CHANNEL
    key = (
        person_key(services, ref.user_id)
        if ref.user_id
        else conversation_key(services, ref.conversation_id)
    )
    sealed = services.keys.seal.seal(json.dumps(asdict(ref)))
    async with services.transaction() as session:
        await store_conversation(
            session=session,
            key=key,
            kind=kind,
            sealed=sealed,
            installed=installed,
            day=day_of(services.now()),
        )


async def mark_unreachable(services: Services, aad_id: str) -> None:
    """The app was uninstalled (or Teams said the person cannot be reached): stop prompting."""
    async with services.transaction() as session:
        await mark_uninstalled(
            session=session, key=person_key(services, aad_id), day=day_of(services.now())
        )


async def reference_for_person(services: Services, aad_id: str) -> ConversationRef | None:
    """The person's personal conversation, if the app is installed for them."""
    return await _find(services, person_key(services, aad_id), installed_only=True)


async def reference_for_conversation(
    services: Services, conversation_id: str
) -> ConversationRef | None:
    """A team or group conversation the bot was added to, if it has seen it."""
    return await _find(services, conversation_key(services, conversation_id), installed_only=False)


async def installed_people(services: Services) -> list[str]:
    """The Entra object ids of everyone with the app installed personally."""
    async with services.sessions() as session:
        sealed = await sealed_installed_people(session=session)
    people = []
    for value in sealed:
        try:
            people.append(_open(services, value).user_id)
        except SealError:  # sealed under an earlier key: that person must reinstall or write
            logger.warning("a stored Teams conversation cannot be opened with the current key")
    return sorted(person for person in people if person)


async def _find(services: Services, key: str, *, installed_only: bool) -> ConversationRef | None:
    async with services.sessions() as session:
        sealed = await sealed_conversation(session=session, key=key, installed_only=installed_only)
    return None if sealed is None else _open(services, sealed)


def _open(services: Services, sealed: str) -> ConversationRef:
    data = json.loads(services.keys.seal.open(sealed))
    return ConversationRef(**data)
