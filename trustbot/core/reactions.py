"""Emoji reactions on prompt messages: counted per round as engagement."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from trustbot.db.models import Delivery, Reaction
from trustbot.db.upsert import insert_for

MAX_EMOJI_LENGTH = 100


async def record_reaction(
    *,
    session: AsyncSession,
    platform: str,
    channel_id: str,
    message_ts: str,
    reactor: str,
    emoji: str,
    added: bool,
    now: datetime,
) -> bool:
    """Count (or uncount) a reaction; False when the message is not one of our prompts."""
    delivery = (
        await session.execute(
            select(Delivery.id, Delivery.round_id).where(
                Delivery.platform == platform,
                Delivery.channel_id == channel_id,
                Delivery.message_ts == message_ts,
            )
        )
    ).first()
    if delivery is None:
        return False
    emoji = emoji[:MAX_EMOJI_LENGTH]
    if added:
        insert = insert_for(session, Reaction).values(
            round_id=delivery.round_id,
            delivery_id=delivery.id,
            reactor=reactor,
            emoji=emoji,
            created_at=now,
        )
        await session.execute(
            insert.on_conflict_do_nothing(
                index_elements=[Reaction.delivery_id, Reaction.reactor, Reaction.emoji]
            )
        )
    else:
        await session.execute(
            delete(Reaction).where(
                Reaction.delivery_id == delivery.id,
                Reaction.reactor == reactor,
                Reaction.emoji == emoji,
            )
        )
    return True
