"""`trustbot forget`: a person's data erased, found by the keys only the pseudonym key makes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, or_, select

from trustbot.core.services import Services
from trustbot.db.models import Anecdote, Delivery, PersonSetting, PulseAnswer, Reaction, Round


@dataclass(frozen=True, slots=True)
class Forgotten:
    """How many rows of each kind were erased."""

    answers: int
    stories: int
    deliveries: int
    reactions: int
    settings: int


async def forget_person(services: Services, *, user_id: str, platform: str = "slack") -> Forgotten:
    """Erase the person's answers, stories, deliveries, reactions and settings.

    Answers, deliveries and reactions are found by their pseudonym; stories by the per-round
    author key (computed for every round) or, when shared with a name, by the user id; settings
    by their own key. Closed rounds' aggregates stay: they are counts of many people, and
    cannot be taken apart.
    """
    pseudonym = services.pseudonym(user_id, platform)
    async with services.transaction() as session:
        round_ids = list(await session.scalars(select(Round.id)))
        author_keys = [services.story_author_key(user_id, r, platform) for r in round_ids]
        stories = await session.execute(
            delete(Anecdote)
            .where(
                or_(
                    Anecdote.author_key.in_(author_keys) if author_keys else False,
                    Anecdote.author_user_id == user_id,
                )
            )
            .returning(Anecdote.id)
        )
        reactions = await session.execute(
            delete(Reaction).where(Reaction.reactor == pseudonym).returning(Reaction.id)
        )
        answers = await session.execute(
            delete(PulseAnswer).where(PulseAnswer.respondent == pseudonym).returning(PulseAnswer.id)
        )
        deliveries = await session.execute(
            delete(Delivery)
            .where(Delivery.recipient == pseudonym, Delivery.platform == platform)
            .returning(Delivery.id)
        )
        settings = await session.execute(
            delete(PersonSetting)
            .where(PersonSetting.subject == services.settings_subject(user_id, platform))
            .returning(PersonSetting.subject)
        )
        return Forgotten(
            answers=len(answers.all()),
            stories=len(stories.all()),
            deliveries=len(deliveries.all()),
            reactions=len(reactions.all()),
            settings=len(settings.all()),
        )
