"""What a person does with their prompt: a score click, a story, an emoji reaction.

Platform-neutral use cases: Slack's listeners (over HTTP or Socket Mode) and Teams' handlers call
them and render the result. Two rules hold here, so no platform can differ:

* an action counts only when it comes from the prompt delivered to that person for that round;
* the later action wins: a stored score is replaced only by a click made later (the platform's
  action time), whatever order the requests arrive in, so a late retry or a replayed old click
  changes nothing. Reactions follow the same rule by their event time;
* an action time the server cannot believe is refused: more than MAX_CLOCK_SKEW_US ahead of the
  server's clock (else a click dated next year would be "later" than every real click and lock
  the person's answer), or more than that before its round opened (no prompt existed yet).

Each use case is one short write transaction, and the platform is told nothing while it is open.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import BigInteger, DateTime, Integer, String, and_, bindparam, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement, TextClause
from sqlalchemy.sql.expression import Executable
from sqlalchemy.sql.selectable import TextualSelect

from trustbot.core.pulse import MAX_SCORE, MIN_SCORE, InvalidAnswerError
from trustbot.core.rounds import rule_of
from trustbot.core.rules import Rule
from trustbot.core.services import Services
from trustbot.db.models import Delivery, DeliveryKind, PulseAnswer, Reaction, Round
from trustbot.db.upsert import compiled_once, insert_for

MAX_EMOJI_LENGTH = 100
_ACTION_TIME = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,9})?")
_MAX_EPOCH_US = 2**62
MAX_CLOCK_SKEW_US = 300 * 1_000_000
"""How far a platform's action time may stray from the server's clock (Slack's own rule for its
request signatures: five minutes)."""


@dataclass(frozen=True, slots=True)
class Actor:
    """The person acting, as their platform names them."""

    platform: str
    user_id: str


@dataclass(frozen=True, slots=True)
class PromptAddress:
    """Where a delivered prompt lives: a conversation and a message in it."""

    conversation_id: str
    message_id: str


@dataclass(frozen=True, slots=True)
class PromptState:
    """A delivered prompt as its recipient should see it now, read from the database."""

    round_id: int
    period: str
    rule: Rule
    score: int | None
    open: bool  # a closed round takes no answer or story


class ScoreOutcome(enum.StrEnum):
    """What became of a score click."""

    APPLIED = "applied"  # stored: the newest click so far
    SUPERSEDED = "superseded"  # a later click was already stored; this one changed nothing
    CLOSED = "closed"  # the round has closed: nothing changes any more
    REFUSED = "refused"  # not this person's prompt of that round, or dated outside the round


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """A score click's outcome and the score stored after it (None when refused)."""

    outcome: ScoreOutcome
    score: int | None
    first_answer: bool = False


def parse_action_time(value: object) -> int:
    """Microseconds since the epoch from a platform timestamp like Slack's "1700000000.123456"."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise InvalidAnswerError("missing action time")
    # Seconds and a fraction, as Slack writes them; nothing Decimal would read as an exponent,
    # NaN or Infinity (int() of Decimal("1e999990") builds a million-digit number).
    text = str(value)
    if not _ACTION_TIME.fullmatch(text):
        raise InvalidAnswerError("unreadable action time")
    try:
        micros = int(Decimal(text).scaleb(6))
    except (InvalidOperation, ValueError):
        raise InvalidAnswerError("unreadable action time") from None
    if not 0 < micros < _MAX_EPOCH_US:
        raise InvalidAnswerError("action time out of range")
    return micros


def ahead_of_the_clock(services: Services, acted_us: int) -> bool:
    """Whether an action time is further ahead of the server's clock than skew explains."""
    now_us = int(services.now().timestamp() * 1_000_000)
    return acted_us > now_us + MAX_CLOCK_SKEW_US


def _earliest_opening(acted_us: int) -> datetime:
    """The latest a round may have opened for an action at `acted_us` to belong to it."""
    return datetime.fromtimestamp(acted_us / 1_000_000, UTC) + timedelta(
        microseconds=MAX_CLOCK_SKEW_US
    )


_ANSWERABLE = (DeliveryKind.PROMPT, DeliveryKind.REMINDER)


@dataclass(frozen=True, slots=True)
class _Handles:
    """The acting person's handles for one round, computed in code from the key."""

    message_key: str
    delivery: str  # matches their prompt's and reminders' `deliveries.recipient`
    answer: str  # their `pulse_answers.respondent`


def _handles(services: Services, actor: Actor, address: PromptAddress, round_id: int) -> _Handles:
    person = services.keys.pseudonym(actor.user_id, actor.platform)
    return _Handles(
        message_key=services.keys.message_key(
            actor.platform, address.conversation_id, address.message_id
        ),
        delivery=services.keys.delivery_handle(person, round_id),
        answer=services.keys.answer_handle(person, round_id),
    )


def _delivered_to(handles: _Handles, round_id: int) -> ColumnElement[bool]:
    """The prompt of `round_id` delivered to the person at this message: the prompt message
    itself, or a reminder, which carries the same buttons."""
    return and_(
        Delivery.message_key == handles.message_key,
        Delivery.kind.in_(_ANSWERABLE),
        Delivery.recipient == handles.delivery,
        Delivery.round_id == round_id,
    )


def round_is_open(services: Services) -> ColumnElement[bool]:
    """A round takes answers until its period has ended and until it is closed (a round opened
    early for people ahead of the workspace's time zone is open already)."""
    return and_(Round.closed_at.is_(None), Round.period >= services.current_period())


@functools.cache
def _score_statements(dialect: str) -> tuple[TextClause | TextualSelect, Executable]:
    """The click's upsert and its fallback read, built once per dialect with bound parameters.

    A click is the hottest path in the bot: building and compiling these statements anew for
    every click cost more than the database round trip itself. The upsert is a dialect INSERT,
    which SQLAlchemy never caches, so it is compiled here once (db.upsert.compiled_once).

    The delivery is matched by the message and the person's delivery handle; the answer is
    written under their answer handle, with the delivery's team: both handles come from the
    caller, computed from the key, so no stored value equals both.
    """
    delivered = and_(
        Delivery.message_key == bindparam("message_key"),
        or_(*(Delivery.kind == kind for kind in _ANSWERABLE)),  # no expanding IN: see below
        Delivery.recipient == bindparam("recipient"),
        Delivery.round_id == bindparam("round_id"),
    )
    still_open = and_(Round.closed_at.is_(None), Round.period >= bindparam("current_period"))
    # A plain DateTime: psycopg takes the (UTC) datetime as it is on the direct path (db.direct).
    after_opening = Round.opened_at <= bindparam("opened_by", type_=DateTime(timezone=True))
    source = (
        select(
            Delivery.round_id,
            bindparam("respondent", type_=String),
            Delivery.team,
            bindparam("score", type_=Integer),
            bindparam("acted_us", type_=BigInteger),
            literal(0),
        )
        .join(Round, Round.id == Delivery.round_id)
        .where(delivered, still_open, after_opening)
    )
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(PulseAnswer)
    insert = insert.from_select(
        ["round_id", "respondent", "team", "score", "acted_us", "revision"], source
    )
    upsert = insert.on_conflict_do_update(
        index_elements=[PulseAnswer.round_id, PulseAnswer.respondent],
        set_={
            "score": insert.excluded.score,
            "acted_us": insert.excluded.acted_us,
            "revision": PulseAnswer.revision + 1,
        },
        where=PulseAnswer.acted_us < insert.excluded.acted_us,
    ).returning(PulseAnswer.score, PulseAnswer.revision)
    cached_upsert = compiled_once(upsert, dialect, PulseAnswer.score, PulseAnswer.revision)
    stored = (
        select(PulseAnswer.score, still_open, after_opening)
        .select_from(Delivery)
        .join(Round, Round.id == Delivery.round_id)
        .outerjoin(
            PulseAnswer,
            and_(
                PulseAnswer.round_id == Delivery.round_id,
                PulseAnswer.respondent == bindparam("respondent"),
            ),
        )
        .where(delivered)
    )
    return cached_upsert, stored


async def record_score(
    services: Services,
    *,
    actor: Actor,
    address: PromptAddress,
    round_id: int,
    score: int,
    acted_us: int,
) -> ScoreResult:
    """Store a score if this click is the person's newest; the stored score either way.

    One statement does the delivery check and the write: the INSERT selects from the matching
    delivery of a round still open and opened before the click, so a click on anything but this
    person's own prompt, or a late one, inserts nothing. A click dated ahead of the server's
    clock is refused before anything is read.
    """
    if not MIN_SCORE <= score <= MAX_SCORE:
        raise InvalidAnswerError(f"score {score} is outside {MIN_SCORE}-{MAX_SCORE}")
    if ahead_of_the_clock(services, acted_us):
        return ScoreResult(ScoreOutcome.REFUSED, None)
    handles = _handles(services, actor, address, round_id)
    parameters = {
        "message_key": handles.message_key,
        "recipient": handles.delivery,
        "respondent": handles.answer,
        "round_id": round_id,
        "current_period": services.current_period(),
        "score": score,
        "acted_us": acted_us,
        "opened_by": _earliest_opening(acted_us),
    }
    # One statement writes, so it needs no transaction around it; the read after it (only when
    # nothing was written) just reports what is stored.
    upsert, stored = _score_statements(services.database.dialect)
    written = await services.database.write_one(upsert, parameters)
    if written is not None:
        score_now, revision = written
        services.metrics.answer_recorded(actor.platform)
        return ScoreResult(ScoreOutcome.APPLIED, score_now, revision == 0)
    # Nothing written: a later click is stored already, the round has closed, or this is not
    # the person's prompt.
    async with services.sessions() as session:
        found = (await session.execute(stored, parameters)).first()
    if found is None or not found[2]:  # not the person's prompt, or a click before it existed
        return ScoreResult(ScoreOutcome.REFUSED, None)
    score_now, still_open, _ = found
    if not still_open:
        return ScoreResult(ScoreOutcome.CLOSED, score_now)
    return ScoreResult(ScoreOutcome.SUPERSEDED, score_now)


async def prompt_state(
    services: Services, *, actor: Actor, address: PromptAddress, round_id: int
) -> PromptState | None:
    """The prompt as the person should see it now; None unless it was delivered to them."""
    handles = _handles(services, actor, address, round_id)
    async with services.sessions() as session:
        row = (
            await session.execute(
                select(Round, PulseAnswer.score, round_is_open(services))
                .join(Delivery, Delivery.round_id == Round.id)
                .outerjoin(
                    PulseAnswer,
                    and_(
                        PulseAnswer.round_id == Delivery.round_id,
                        PulseAnswer.respondent == handles.answer,
                    ),
                )
                .where(_delivered_to(handles, round_id))
            )
        ).first()
    if row is None:
        return None
    round_, score, still_open = row
    return PromptState(round_.id, round_.period, rule_of(round_.rule), score, bool(still_open))


async def record_reaction(
    services: Services,
    *,
    actor: Actor,
    address: PromptAddress,
    emoji: str,
    added: bool,
    event_us: int,
) -> None:
    """Count (or uncount) a reaction on the person's own prompt; the later event wins.

    Reactions count in a closed round too: they say the prompt was seen, not what anyone
    answered. A reaction on any other message inserts nothing. A removal is kept as a row that is no
    longer present, so an older `added` arriving late (a Slack retry) cannot count it again.

    The event names no round: the message's delivery says which, and the person's handles for
    that round are then computed here, from the key. An event dated ahead of the server's clock,
    or before its round opened, counts for nothing.
    """
    if ahead_of_the_clock(services, event_us):
        return
    person = services.keys.pseudonym(actor.user_id, actor.platform)
    message_key = services.keys.message_key(
        actor.platform, address.conversation_id, address.message_id
    )
    async with services.transaction() as session:
        found = (
            await session.execute(
                select(Delivery.round_id, Delivery.recipient, Delivery.team, Round.opened_at)
                .join(Round, Round.id == Delivery.round_id)
                .where(Delivery.message_key == message_key, Delivery.kind.in_(_ANSWERABLE))
            )
        ).first()
        if found is None or found.round_id is None:
            return
        if found.opened_at > _earliest_opening(event_us):
            return  # dated before its round opened
        round_id = int(found.round_id)
        if found.recipient != services.keys.delivery_handle(person, round_id):
            return  # a reaction on someone else's prompt
        insert = insert_for(session, Reaction).values(
            round_id=round_id,
            reactor=services.keys.reaction_handle(person, round_id),
            emoji=emoji[:MAX_EMOJI_LENGTH],
            team=found.team,
            present=added,
            event_us=event_us,
        )
        await session.execute(
            insert.on_conflict_do_update(
                index_elements=[Reaction.round_id, Reaction.reactor, Reaction.emoji],
                set_={"present": insert.excluded.present, "event_us": insert.excluded.event_us},
                where=Reaction.event_us < insert.excluded.event_us,
            )
        )
