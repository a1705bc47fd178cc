"""Anecdotes: short stories of a rule being lived, shared named, anonymous or kept private."""

from __future__ import annotations

import enum
import unicodedata

from sqlalchemy import String, literal, select

from trustbot.core.privacy import random_id
from trustbot.core.prompts import Actor, round_is_open
from trustbot.core.services import Services
from trustbot.db.models import Anecdote, Delivery, DeliveryKind, RandomId, Round
from trustbot.db.upsert import insert_for
from trustbot.kinds import Visibility

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
    if not any(unicodedata.category(char)[0] not in "ZC" for char in cleaned):
        # Nothing visible: spaces, zero-width and direction marks (Cf), controls only.
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


class StoryOutcome(enum.StrEnum):
    """What became of a submitted story."""

    SAVED = "saved"
    DUPLICATE = "duplicate"  # this submission (source id) was stored before: a platform retry
    CLOSED = "closed"  # the round has closed: stories are told about the open round only
    NO_PROMPT = "no_prompt"  # the round is gone, or its prompt was never delivered to the author


async def record_story(
    services: Services,
    *,
    actor: Actor,
    round_id: int,
    visibility: Visibility,
    text: str,
    source_id: str | None,
    author_name: str | None = None,
) -> StoryOutcome:
    """Store a story told about the round whose prompt the author received.

    The author's user id is stored only when they chose to share their name (the CHECK
    constraint `name_only_when_named` holds the table to it); the author is otherwise their
    pseudonym sealed with a random nonce, a different value on each story, which joins to
    nothing. The story's id is random. A re-sent submission (the same `source_id`) is stored
    once.
    """
    cleaned = clean_story(text)
    author = services.keys.pseudonym(actor.user_id, actor.platform)
    named = visibility is Visibility.NAMED
    delivered = (
        select(
            literal(random_id(), RandomId),
            Round.id,
            Round.rule_id,
            literal(services.keys.author_seal.seal(author)),
            literal(actor.user_id if named else None, String()),
            literal(author_name[:200] if named and author_name else None, String()),
            literal(visibility.value),
            literal(cleaned),
            literal(source_id, String()),
        )
        .join(Delivery, Delivery.round_id == Round.id)
        .where(
            Round.id == round_id,
            Delivery.kind == DeliveryKind.PROMPT,
            Delivery.platform == actor.platform,
            Delivery.recipient == services.keys.delivery_handle(author, round_id),
        )
    )
    source = delivered.where(round_is_open(services))
    async with services.transaction() as session:
        insert = insert_for(session, Anecdote).from_select(
            [
                "id",
                "round_id",
                "rule_id",
                "author_ref",
                "author_user_id",
                "author_name",
                "visibility",
                "text",
                "source_id",
            ],
            source,
        )
        stored = await session.scalar(
            insert.on_conflict_do_nothing(index_elements=[Anecdote.source_id]).returning(
                Anecdote.id
            )
        )
        if stored is not None:
            services.metrics.story_recorded(actor.platform)
            return StoryOutcome.SAVED
        if source_id is not None and await session.scalar(
            select(Anecdote.id).where(Anecdote.source_id == source_id)
        ):
            return StoryOutcome.DUPLICATE
        prompted = await session.scalar(delivered.with_only_columns(Round.id))
    return StoryOutcome.NO_PROMPT if prompted is None else StoryOutcome.CLOSED
