"""A person's own choices: pausing and resuming their prompts."""

from __future__ import annotations

from sqlalchemy import select

from trustbot.core.prompts import Actor
from trustbot.core.services import Services
from trustbot.db.models import PersonSetting
from trustbot.db.upsert import insert_for


async def set_paused(services: Services, *, actor: Actor, paused: bool) -> None:
    """Pause (or resume) the person's prompts and reminders; respected by every later send."""
    now = services.now()
    subject = services.settings_subject(actor.user_id, actor.platform)
    async with services.transaction() as session:
        insert = insert_for(session, PersonSetting).values(
            subject=subject, paused=paused, updated_at=now
        )
        await session.execute(
            insert.on_conflict_do_update(
                index_elements=[PersonSetting.subject],
                set_={"paused": insert.excluded.paused, "updated_at": insert.excluded.updated_at},
            )
        )


async def is_paused(services: Services, *, actor: Actor) -> bool:
    """Whether the person paused their prompts."""
    subject = services.settings_subject(actor.user_id, actor.platform)
    async with services.sessions() as session:
        paused = await session.scalar(
            select(PersonSetting.paused).where(PersonSetting.subject == subject)
        )
    return bool(paused)
