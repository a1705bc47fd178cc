"""Every interaction a person has with trustbot, written once for every platform.

A platform package (slack/, teams/) reads a request into the arguments of one use case here,
calls it, and draws its result as Block Kit or an Adaptive Card. What is decided (which words a
command takes, who may see the report and in which language, what a click or a story gets as a
reply, what a database failure tells the person) is decided here, so Slack and Teams cannot
drift apart. Replies are catalogue keys with their values (`Reply`); a platform only says how its
people type the commands (`Commands`), since `/trust-prompts` is a slash command on Slack and a
typed word on Teams.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from trustbot.core.aggregates import NO_TEAM, WHOLE
from trustbot.core.anecdotes import StoryOutcome, StoryProblem, parse_visibility, record_story
from trustbot.core.catalogue import Language, text
from trustbot.core.people import is_paused, language_of, set_paused
from trustbot.core.prompts import (
    Actor,
    PromptAddress,
    PromptState,
    ScoreOutcome,
    prompt_state,
    record_reaction,
    record_score,
)
from trustbot.core.pulse import MAX_SCORE, MIN_SCORE
from trustbot.core.reports import (
    DEFAULT_WEEKS,
    MAX_WEEKS,
    ReportArgumentError,
    TrustReport,
    current_trust_report,
    parse_report_arguments,
)
from trustbot.core.services import Services
from trustbot.db.errors import describe_database_error
from trustbot.db.models import RoundAggregate
from trustbot.kinds import Visibility

logger = logging.getLogger(__name__)
MAX_ROUND_ID = 2**31 - 1


class _Failed(enum.Enum):
    FAILED = "failed"


FAILED: Final = _Failed.FAILED
"""What `attempt` returns when the database failed (it logged why)."""


async def attempt[T](what: str, work: Awaitable[T]) -> T | Literal[_Failed.FAILED]:
    """Run `work`; on a database error log one line (never the SQL or its values) and return
    FAILED, so the caller tells the person instead of failing silently. The one place trustbot
    classifies a database error on a person's request."""
    try:
        return await work
    except SQLAlchemyError as error:
        logger.error("could not %s: %s", what, describe_database_error(error))
        return FAILED


@dataclass(frozen=True, slots=True)
class Commands:
    """How a platform's people type trustbot's commands (catalogue texts name them)."""

    prompts: str  # "/trust-prompts" on Slack, "trust-prompts" on Teams
    report: str


@dataclass(frozen=True, slots=True)
class Reply:
    """What to tell a person: a catalogue key and its values, in the person's language."""

    key: str
    language: Language
    values: Mapping[str, object] = field(default_factory=dict)

    def text(self, commands: Commands) -> str:
        """The words, with the platform's command names filled in."""
        return text(
            self.key,
            self.language,
            prompts=commands.prompts,
            report=commands.report,
            **self.values,
        )


# -- pause / resume / status ------------------------------------------------------------------


class PromptsWord(enum.StrEnum):
    """What `trust-prompts WORD` asks for."""

    PAUSE = "pause"
    RESUME = "resume"
    STATUS = "status"


_PROMPTS_WORDS = {
    "pause": PromptsWord.PAUSE,
    "stop": PromptsWord.PAUSE,
    "resume": PromptsWord.RESUME,
    "start": PromptsWord.RESUME,
}


def parse_prompts_word(arguments: str) -> PromptsWord:
    """`pause`/`stop`, `resume`/`start`; anything else (or nothing) asks for the status."""
    words = arguments.strip().lower().split()
    return _PROMPTS_WORDS.get(words[0], PromptsWord.STATUS) if words else PromptsWord.STATUS


async def prompts_command(services: Services, *, actor: Actor, arguments: str) -> Reply:
    """`trust-prompts [pause|stop|resume|start]`: change or tell whether prompts are paused."""
    return await change_prompts(services, actor=actor, word=parse_prompts_word(arguments))


async def change_prompts(services: Services, *, actor: Actor, word: PromptsWord) -> Reply:
    """Pause, resume, or read the person's prompts; the reply says where they stand now."""
    language = await language_of(services, actor=actor)
    if word is PromptsWord.STATUS:
        paused = await attempt("read prompt settings", is_paused(services, actor=actor))
        if paused is FAILED:
            return Reply("pause.failed", language)
        return Reply("pause.status.paused" if paused else "pause.status.active", language)
    pause = word is PromptsWord.PAUSE
    changed = await attempt(
        "change prompt settings", set_paused(services, actor=actor, paused=pause)
    )
    if changed is FAILED:
        return Reply("pause.failed", language)
    return Reply("pause.done" if pause else "pause.resumed", language)


# -- the report -------------------------------------------------------------------------------


class ViewerCheckFailed(Exception):
    """The platform could not tell whether the person may see reports (its API failed)."""


@dataclass(frozen=True, slots=True)
class ReportShown:
    """The report the viewer asked for, to be drawn in their language."""

    report: TrustReport
    language: Language


async def report_team_names(services: Services) -> tuple[str, ...]:
    """Every team a report can be asked for: the configured ones and those with figures."""
    async with services.sessions() as session:
        stored = await session.scalars(
            select(RoundAggregate.team)
            .distinct()
            .where(RoundAggregate.team.not_in((WHOLE, NO_TEAM)))
        )
        names = dict.fromkeys([*services.settings.teams, *sorted(stored)])
    return tuple(names)


async def request_report(
    services: Services,
    *,
    actor: Actor,
    arguments: str,
    may_see: Callable[[], Awaitable[bool]],
    private: bool = True,
) -> ReportShown | Reply:
    """`trust-report [weeks] [rule=N] [team=NAME]`: the report for a viewer, in the viewer's own
    language, asked in a place only they see; a refusal, the usage or a failure otherwise.

    `may_see` is the platform's answer to "is this person a report viewer" (Slack: the listed
    people and user groups; Teams: the listed Entra ids); `private` whether the reply is seen
    by the person alone (Teams: a personal chat; Slack answers ephemerally, always private).
    """
    language = await language_of(services, actor=actor)
    try:
        allowed = await may_see()
    except ViewerCheckFailed:
        return Reply("report.failed", language)
    if not allowed:
        return Reply("report.refused", language)
    if not private:
        return Reply("report.private", language)
    teams = await attempt("read the report's teams", report_team_names(services))
    if teams is FAILED:
        return Reply("report.failed", language)
    try:
        request = parse_report_arguments(arguments, teams=teams, rules=len(services.rules))
    except ReportArgumentError:
        return Reply("report.usage", language, {"max": MAX_WEEKS, "default": DEFAULT_WEEKS})
    report = await attempt("build the trust report", current_trust_report(services, request))
    if report is FAILED:
        return Reply("report.failed", language)
    return ReportShown(report, language)


# -- a score click ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScoreAnswer:
    """What a score click gets: a note for the person (None: the stored score, which only
    the person may see, is the reply), the stored score, and the prompt as it stands now."""

    language: Language
    note: Reply | None
    score: int | None = None  # the stored score, to confirm privately
    prompt: PromptState | None = None  # None: nothing to redraw (not the person's prompt)
    changed: bool = False  # the prompt's look changed (first answer, or closed)


async def score_click(
    services: Services,
    *,
    actor: Actor,
    address: PromptAddress,
    round_id: object,
    score: object,
    acted_us: int | None,
) -> ScoreAnswer:
    """Store a click on a 1-5 button if it is the person's newest, on their own prompt, of a
    round still open; say what became of it. Unreadable data (`acted_us` None, a round or
    score that is not a number in range) stores nothing and says so."""
    language = await language_of(services, actor=actor)
    if (
        not _is_round_id(round_id)
        or not isinstance(score, int)
        or isinstance(score, bool)
        or not MIN_SCORE <= score <= MAX_SCORE
        or acted_us is None
    ):
        logger.warning("refused a score click: unreadable data")
        return ScoreAnswer(language, Reply("error.bad_action", language))
    assert isinstance(round_id, int)
    result = await attempt(
        "store a pulse answer",
        record_score(
            services,
            actor=actor,
            address=address,
            round_id=round_id,
            score=score,
            acted_us=acted_us,
        ),
    )
    if result is FAILED:
        state = await attempt(
            "read a prompt",
            prompt_state(services, actor=actor, address=address, round_id=round_id),
        )
        prompt = None if state is FAILED else state
        return ScoreAnswer(language, Reply("error.save_failed", language), prompt=prompt)
    if result.outcome is ScoreOutcome.REFUSED:
        logger.warning(
            "refused a score click for round %s: not this person's prompt, or dated outside it",
            round_id,
        )
        return ScoreAnswer(language, Reply("error.unknown_round", language))
    closed = result.outcome is ScoreOutcome.CLOSED
    state = await attempt(
        "read a prompt", prompt_state(services, actor=actor, address=address, round_id=round_id)
    )
    return ScoreAnswer(
        language,
        Reply("error.round_closed", language) if closed else None,
        score=None if closed else result.score,
        prompt=None if state is FAILED else state,
        changed=result.first_answer or closed,
    )


def _is_round_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ROUND_ID


def parse_round_id(value: object) -> int | None:
    """A round id from a button's value ("123") or a card's data (123); None when unreadable."""
    if isinstance(value, str) and value.isascii() and value.isdecimal() and len(value) <= 10:
        value = int(value)
    return value if _is_round_id(value) else None  # type: ignore[return-value]


# -- reactions --------------------------------------------------------------------------------


async def react(
    services: Services,
    *,
    actor: Actor,
    address: PromptAddress,
    changes: Sequence[tuple[str, bool]],
    event_us: int,
) -> None:
    """Emoji put on (True) or taken off (False) a message: each counts when the message is the
    person's own prompt. Nobody is told anything (a reaction has no reply); a failure is
    logged."""
    for emoji, added in changes:
        await attempt(
            "record a reaction",
            record_reaction(
                services,
                actor=actor,
                address=address,
                emoji=emoji,
                added=added,
                event_us=event_us,
            ),
        )


# -- stories ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoryStart:
    """Whether the person may tell a story about a prompt: the prompt when they may (its rule
    goes on the form), else why not, and the prompt to redraw when it has closed."""

    language: Language
    refusal: Reply | None
    prompt: PromptState | None = None


async def start_story(
    services: Services, *, actor: Actor, address: PromptAddress, round_id: object
) -> StoryStart:
    """A person asks to tell a story about the round of their own prompt."""
    language = await language_of(services, actor=actor)
    number = parse_round_id(round_id)
    state = None
    if number is not None:
        found = await attempt(
            "look up a prompt",
            prompt_state(services, actor=actor, address=address, round_id=number),
        )
        if found is FAILED:
            return StoryStart(language, Reply("story.error.open_failed", language))
        state = found
    if state is None:
        logger.warning("refused a story: not a prompt of this person's")
        return StoryStart(language, Reply("error.unknown_round", language))
    if not state.open:
        return StoryStart(language, Reply("error.round_closed", language), state)
    return StoryStart(language, None, state)


@dataclass(frozen=True, slots=True)
class StoryAnswer:
    """What became of a story: the reply, and whether it is stored (nothing left to redo)."""

    reply: Reply
    saved: bool
    visibility: Visibility


_STORY_REPLIES = {
    StoryOutcome.CLOSED: "story.error.round_closed",
    StoryOutcome.NO_PROMPT: "story.error.round_gone",
}


async def share_story(
    services: Services,
    *,
    actor: Actor,
    round_id: object,
    visibility: str | None,
    story: str | None,
    source_id: str | None,
    author_name: str | None = None,
) -> StoryAnswer:
    """Store a story about the round of the person's own prompt; the reply says what happens
    to it (named, anonymous, private) or why it was not stored."""
    language = await language_of(services, actor=actor)
    chosen = parse_visibility(visibility)
    number = parse_round_id(round_id)
    if number is None:
        logger.warning("refused a story: unreadable round")
        return StoryAnswer(Reply("story.error.round_gone", language), False, chosen)
    try:
        outcome = await attempt(
            "store a story",
            record_story(
                services,
                actor=actor,
                round_id=number,
                visibility=chosen,
                text=story or "",
                source_id=source_id,
                author_name=author_name,
            ),
        )
    except StoryProblem as problem:
        return StoryAnswer(Reply(problem.key, language, problem.values), False, chosen)
    if outcome is FAILED:
        return StoryAnswer(Reply("story.error.save_failed", language), False, chosen)
    key = _STORY_REPLIES.get(outcome, f"story.saved.{chosen.value}")
    return StoryAnswer(Reply(key, language), key.startswith("story.saved."), chosen)
