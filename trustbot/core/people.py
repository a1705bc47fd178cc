"""A person's own things: pausing prompts, their language, their home tab."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from trustbot.core.catalogue import Language
from trustbot.core.figures import Disclosure
from trustbot.core.privacy import day_of
from trustbot.core.prompts import Actor
from trustbot.core.reports import TrustReport
from trustbot.core.rules import Rule
from trustbot.core.services import Services
from trustbot.db.models import PersonSetting, PulseAnswer, Round
from trustbot.db.upsert import upsert


async def set_paused(services: Services, *, actor: Actor, paused: bool) -> None:
    """Pause (or resume) the person's prompts and reminders; respected by every later send."""
    await _store_setting(services, actor, {"paused": paused}, update=("paused", "updated_at"))


async def _store_setting(
    services: Services, actor: Actor, values: dict[str, object], *, update: tuple[str, ...]
) -> str:
    """Write the person's settings row (created with `values`, else only `update` changes);
    its subject."""
    subject = services.keys.settings_subject(actor.user_id, actor.platform)
    row = {"subject": subject, "updated_at": day_of(services.now()), **values}
    async with services.transaction() as session:
        await upsert(session, PersonSetting, key=PersonSetting.subject, values=row, update=update)
    return subject


async def is_paused(services: Services, *, actor: Actor) -> bool:
    """Whether the person paused their prompts."""
    subject = services.keys.settings_subject(actor.user_id, actor.platform)
    async with services.sessions() as session:
        paused = await session.scalar(
            select(PersonSetting.paused).where(PersonSetting.subject == subject)
        )
    return bool(paused)


LANGUAGE_CACHE_S = 60.0  # another process's change is seen within a minute


async def set_language(services: Services, *, actor: Actor, language: Language) -> None:
    """The language the person wants prompts, replies and their home tab in."""
    subject = await _store_setting(
        services,
        actor,
        {"paused": False, "language": language},
        update=("language", "updated_at"),
    )
    services.languages[subject] = (language, time.monotonic())


async def language_of(services: Services, *, actor: Actor) -> Language:
    """The person's own language, or the configured one; cached briefly (a click path read)."""
    subject = services.keys.settings_subject(actor.user_id, actor.platform)
    cached = services.languages.get(subject)
    if cached is not None and time.monotonic() - cached[1] < LANGUAGE_CACHE_S:
        return cached[0] or services.language
    try:
        async with services.sessions() as session:
            chosen = await session.scalar(
                select(PersonSetting.language).where(PersonSetting.subject == subject)
            )
    except SQLAlchemyError:  # the reply itself will say what failed; say it in the default
        return services.language
    language: Language | None = chosen if chosen in ("da", "en") else None  # type: ignore[assignment]
    services.languages[subject] = (language, time.monotonic())
    return language or services.language


@dataclass(frozen=True, slots=True)
class MyAnswer:
    """One of the person's own recent answers, beside the company's figure for that week."""

    period: str
    rule: Rule
    score: int | None
    company_index: float | None  # None while the round is open or too few to show
    open: bool
    company_bound: str = ""  # "at_least" / "at_most" when the index is shown as a bound


@dataclass(frozen=True, slots=True)
class HomeState:
    """What a person's home tab shows: only their own answers, and their own choices."""

    paused: bool
    language: Language
    answers: tuple[MyAnswer, ...]
    disclosure: Disclosure  # the rules the company's figures beside them passed


async def home_state(services: Services, *, actor: Actor, report: TrustReport) -> HomeState:
    """The person's recent answers (read by their answer handle of each round) beside the
    report's figures."""
    person = services.keys.pseudonym(actor.user_id, actor.platform)
    periods = [p.period for p in report.periods if p.rule is not None]
    async with services.sessions() as session:
        rounds = (
            await session.execute(select(Round.id, Round.period).where(Round.period.in_(periods)))
        ).all()
        handles = [services.keys.answer_handle(person, round_id) for round_id, _ in rounds]
        rows = await session.execute(
            select(Round.period, PulseAnswer.score)
            .join(Round, Round.id == PulseAnswer.round_id)
            .where(PulseAnswer.respondent.in_(handles))
        )
        mine: dict[str, int] = {period: score for period, score in rows}
    answers = tuple(
        MyAnswer(
            period=p.period,
            rule=p.rule,
            score=mine.get(p.period),
            company_index=p.figures.index if not p.open else None,
            open=p.open,
            company_bound=p.figures.index_bound,
        )
        for p in reversed(report.periods)
        if p.rule is not None
    )
    return HomeState(
        paused=await is_paused(services, actor=actor),
        language=await language_of(services, actor=actor),
        answers=answers,
        disclosure=report.disclosure,
    )
