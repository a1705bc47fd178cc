"""The Teams conversations trustbot can post to: repository functions over
`teams_conversations`. The reference itself arrives sealed and leaves sealed (teams/references.py
seals and opens it); rows are found by keyed hashes only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from trustbot.db.models import TeamsConversation
from trustbot.db.upsert import upsert

PERSONAL, CHANNEL = "personal", "channel"


async def store_conversation(
    *, session: AsyncSession, key: str, kind: str, sealed: str, installed: bool, day: datetime
) -> None:
    """Store (or refresh) a sealed conversation reference under its key."""
    await upsert(
        session,
        TeamsConversation,
        key=TeamsConversation.key,
        values={
            "key": key,
            "kind": kind,
            "reference": sealed,
            "installed": installed,
            "updated_at": day,
        },
        update=("reference", "installed", "updated_at"),
    )


async def mark_uninstalled(*, session: AsyncSession, key: str, day: datetime) -> None:
    """The conversation can no longer be reached (uninstalled, or the person left)."""
    await session.execute(
        update(TeamsConversation)
        .where(TeamsConversation.key == key)
        .values(installed=False, updated_at=day)
    )


async def sealed_conversation(
    *, session: AsyncSession, key: str, installed_only: bool
) -> str | None:
    """The sealed reference stored under `key` (only an installed one, if asked)."""
    query = select(TeamsConversation.reference).where(TeamsConversation.key == key)
    if installed_only:
        query = query.where(TeamsConversation.installed)
    sealed: str | None = await session.scalar(query)
    return sealed


async def sealed_installed_people(*, session: AsyncSession) -> list[str]:
    """The sealed references of every personal conversation still installed."""
    return list(
        await session.scalars(
            select(TeamsConversation.reference).where(
                TeamsConversation.kind == PERSONAL, TeamsConversation.installed
            )
        )
    )


async def delete_conversation(*, session: AsyncSession, key: str) -> int:
    """Erase the conversation stored under `key`; how many rows went (0 or 1)."""
    gone = await session.execute(
        delete(TeamsConversation)
        .where(TeamsConversation.key == key)
        .returning(TeamsConversation.key)
    )
    return len(gone.all())
