"""`trustbot forget`: a person's data erased, found by the handles only the pseudonym key makes.

One transaction erases everything: answers, reactions and deliveries (by the person's handle
for each round), stories (each row's sealed author opened and compared, since nothing stored is
equal across one person's stories), settings, and on Teams the stored personal conversation.

A closed round's aggregate stays: it counts many people and cannot be taken apart. But the
aggregate minus the raw rows left would be exactly what was erased (the person's score, their
private story, their place in the audience), so a closed round that loses a member keeps only
its aggregate: its remaining raw answers, reactions, private stories and deliveries go too.
Stories others shared stay (their count can drop below the aggregate's: the one residue,
said in docs/privacy.md). An open round simply loses the person's rows; its aggregate, written
at close, never counted them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from trustbot.core.privacy import SealError
from trustbot.core.services import Services
from trustbot.db.conversations import delete_conversation
from trustbot.db.models import (
    Anecdote,
    Delivery,
    PersonSetting,
    PulseAnswer,
    Reaction,
    Round,
)
from trustbot.db.scrub import scrub
from trustbot.kinds import Visibility

STORY_BATCH = 500  # stories read (and their authors opened) at a time
ERASED_TABLES = (
    "pulse_answers",
    "reactions",
    "deliveries",
    "anecdotes",
    "person_settings",
    "teams_conversations",
)


@dataclass(frozen=True, slots=True)
class Forgotten:
    """How many rows of each kind were erased (the person's own; `closed_rounds` counts the
    closed rounds whose remaining raw rows went with them)."""

    answers: int
    stories: int
    deliveries: int
    reactions: int
    settings: int
    conversations: int
    closed_rounds: int

    @property
    def anything(self) -> bool:
        """Whether anything of the person's was stored."""
        return any(
            (
                self.answers,
                self.stories,
                self.deliveries,
                self.reactions,
                self.settings,
                self.conversations,
            )
        )


async def forget_person(services: Services, *, user_id: str, platform: str) -> Forgotten:
    """Erase everything stored about one person, in one transaction, then scrub the tables."""
    person = services.keys.pseudonym(user_id, platform)
    async with services.transaction() as session:
        rounds = {
            round_id: closed is not None
            for round_id, closed in await session.execute(select(Round.id, Round.closed_at))
        }
        touched: set[int] = set()
        handles = (
            (PulseAnswer, PulseAnswer.respondent, services.keys.answer_handle),
            (Reaction, Reaction.reactor, services.keys.reaction_handle),
            (Delivery, Delivery.recipient, services.keys.delivery_handle),
        )
        answers, reactions, deliveries = [
            await _delete_by_handle(
                session,
                model,
                handle_column,
                {r: handle(person, r) for r in rounds},
                touched,
                platform,
            )
            for model, handle_column, handle in handles
        ]
        stories = await _delete_stories(services, session, person, user_id, touched)
        settings = await session.execute(
            delete(PersonSetting)
            .where(PersonSetting.subject == services.keys.settings_subject(user_id, platform))
            .returning(PersonSetting.subject)
        )
        conversations = 0
        if platform == "teams":
            conversations = await delete_conversation(
                session=session, key=services.keys.teams_person_key(user_id)
            )
        closed = sorted(r for r in touched if rounds.get(r))
        await _keep_only_aggregates(session, closed)
        forgotten = Forgotten(
            answers=answers,
            stories=stories,
            deliveries=deliveries,
            reactions=reactions,
            settings=len(settings.all()),
            conversations=conversations,
            closed_rounds=len(closed),
        )
    await scrub(services.database.writer, ERASED_TABLES)
    return forgotten


async def _delete_by_handle(
    session: AsyncSession,
    model: type[PulseAnswer | Reaction | Delivery],
    handle_column: InstrumentedAttribute[str],
    handles: dict[int, str],
    touched: set[int],
    platform: str,
) -> int:
    """Delete the rows whose handle is the person's for their round; note those rounds."""
    if not handles:
        return 0
    where: list[ColumnElement[bool]] = [handle_column.in_(list(handles.values()))]
    if model is Delivery:
        where.append(Delivery.platform == platform)
    result = await session.execute(
        delete(model).where(*where).returning(model.round_id, handle_column)
    )
    count = 0
    for round_id, handle in result:
        if handles.get(round_id) == handle:  # a handle of another round cannot match: belt
            touched.add(round_id)
            count += 1
    return count


async def _delete_stories(
    services: Services, session: AsyncSession, person: str, user_id: str, touched: set[int]
) -> int:
    """Find the person's stories by opening each story's sealed author, a batch at a time (a
    named story also by its user id); delete them."""
    found: list[int] = []
    after: int | None = None
    while True:
        query = select(Anecdote.id, Anecdote.round_id, Anecdote.author_ref, Anecdote.author_user_id)
        if after is not None:
            query = query.where(Anecdote.id > after)
        batch: Sequence[tuple[int, int, str, str | None]] = (
            (await session.execute(query.order_by(Anecdote.id).limit(STORY_BATCH))).tuples().all()
        )
        if not batch:
            break
        for story_id, round_id, author_ref, author_user_id in batch:
            if _is_author(services, author_ref, person) or author_user_id == user_id:
                found.append(story_id)
                touched.add(round_id)
        after = batch[-1][0]
        await asyncio.sleep(0)  # opening seals is CPU work: let other requests in
    for start in range(0, len(found), STORY_BATCH):
        await session.execute(
            delete(Anecdote).where(Anecdote.id.in_(found[start : start + STORY_BATCH]))
        )
    return len(found)


def _is_author(services: Services, author_ref: str, person: str) -> bool:
    try:
        return services.keys.author_seal.open(author_ref) == person
    except SealError:  # sealed under another key: not this person's, as far as anyone can tell
        return False


async def _keep_only_aggregates(session: AsyncSession, round_ids: list[int]) -> None:
    """Closed rounds that lost a member keep their aggregate and others' shared stories only."""
    if not round_ids:
        return
    await session.execute(delete(PulseAnswer).where(PulseAnswer.round_id.in_(round_ids)))
    await session.execute(delete(Reaction).where(Reaction.round_id.in_(round_ids)))
    await session.execute(delete(Delivery).where(Delivery.round_id.in_(round_ids)))
    await session.execute(
        delete(Anecdote).where(
            Anecdote.round_id.in_(round_ids), Anecdote.visibility == Visibility.PRIVATE
        )
    )
