"""Anecdotes: short stories of a rule being lived, shared named, anonymous or kept private."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from trustbot.db.models import Anecdote, Round, Visibility
from trustbot.db.upsert import insert_for

MAX_STORY_LENGTH = 2000


class StoryProblem(ValueError):
    """Why a story cannot be stored; `key` is the catalogue text to show."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def clean_story(text: str | None) -> str:
    """The story text trimmed, or StoryProblem when it is empty or too long."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise StoryProblem("story.error.empty")
    if len(cleaned) > MAX_STORY_LENGTH:
        raise StoryProblem("story.error.too_long", limit=MAX_STORY_LENGTH, length=len(cleaned))
    return cleaned


def parse_visibility(value: str | None) -> Visibility:
    """The visibility chosen in the modal; anything unexpected keeps the story anonymous."""
    try:
        return Visibility(value or Visibility.ANONYMOUS)
    except ValueError:
        return Visibility.ANONYMOUS


async def record_anecdote(
    *,
    session: AsyncSession,
    round_: Round,
    author: str,
    author_user_id: str,
    visibility: Visibility,
    text: str,
    source_id: str | None,
    now: datetime,
) -> bool:
    """Store a story; False when this submission (`source_id`) was already stored."""
    insert = insert_for(session, Anecdote).values(
        round_id=round_.id,
        rule_id=round_.rule_id,
        author=author,
        author_user_id=author_user_id if visibility is Visibility.NAMED else None,
        visibility=visibility.value,
        text=clean_story(text),
        source_id=source_id,
        created_at=now,
    )
    stored: int | None = await session.scalar(
        insert.on_conflict_do_nothing(index_elements=[Anecdote.source_id]).returning(Anecdote.id)
    )
    return stored is not None


async def stories_by(*, session: AsyncSession, round_id: int, author: str) -> int:
    """How many stories a person shared in a round."""
    count = await session.scalar(
        select(func.count())
        .select_from(Anecdote)
        .where(Anecdote.round_id == round_id, Anecdote.author == author)
    )
    return count or 0
