"""Anecdotes: story cleaning and visibility parsing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from trustbot.core.anecdotes import (
    MAX_STORY_LENGTH,
    StoryProblem,
    clean_story,
    parse_visibility,
    record_anecdote,
    stories_by,
)
from trustbot.core.rounds import open_round
from trustbot.core.services import Services
from trustbot.db.models import Anecdote, Round, Visibility


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t  \n"])
def test_empty_story_is_refused(text: str | None) -> None:
    with pytest.raises(StoryProblem) as caught:
        clean_story(text)
    assert caught.value.key == "story.error.empty"
    assert caught.value.values == {}


def test_story_limit() -> None:
    assert MAX_STORY_LENGTH == 2000
    assert clean_story("a" * 2000) == "a" * 2000
    with pytest.raises(StoryProblem) as caught:
        clean_story("a" * 2001)
    assert caught.value.key == "story.error.too_long"
    assert caught.value.values == {"limit": 2000, "length": 2001}


def test_story_is_trimmed_before_the_limit() -> None:
    assert clean_story("  " + "b" * 2000 + "\n\n") == "b" * 2000
    assert clean_story("  hello\nworld  ") == "hello\nworld"


def test_story_problem_is_value_error() -> None:
    problem = StoryProblem("story.error.empty")
    assert isinstance(problem, ValueError)
    assert str(problem) == "story.error.empty"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("named", Visibility.NAMED),
        ("anonymous", Visibility.ANONYMOUS),
        ("private", Visibility.PRIVATE),
        (None, Visibility.ANONYMOUS),
        ("", Visibility.ANONYMOUS),
        ("public", Visibility.ANONYMOUS),
        ("NAMED", Visibility.ANONYMOUS),
    ],
)
def test_parse_visibility(value: str | None, expected: Visibility) -> None:
    assert parse_visibility(value) is expected


async def _round(services: Services) -> Round:
    async with services.sessions() as session, session.begin():
        round_, _ = await open_round(
            session=session, rules=services.rules, period="2026-W48", now=services.now()
        )
        return round_


async def _record(services: Services, round_: Round, visibility: Visibility, source: str) -> bool:
    async with services.sessions() as session, session.begin():
        return await record_anecdote(
            session=session,
            round_=round_,
            author=services.pseudonym("U0ALICE"),
            author_user_id="U0ALICE",
            visibility=visibility,
            text="  A story.  ",
            source_id=source,
            now=services.now(),
        )


async def test_record_anecdote(services: Services) -> None:
    round_ = await _round(services)
    assert await _record(services, round_, Visibility.NAMED, "V1") is True
    assert await _record(services, round_, Visibility.ANONYMOUS, "V2") is True
    assert await _record(services, round_, Visibility.PRIVATE, "V3") is True
    # The same submission sent again is stored once.
    await _record(services, round_, Visibility.ANONYMOUS, "V2")
    async with services.sessions() as session:
        rows = (await session.scalars(select(Anecdote).order_by(Anecdote.source_id))).all()
        assert [(row.visibility, row.author_user_id) for row in rows] == [
            (Visibility.NAMED, "U0ALICE"),
            (Visibility.ANONYMOUS, None),
            (Visibility.PRIVATE, None),
        ]
        assert {row.text for row in rows} == {"A story."}
        assert {row.rule_id for row in rows} == {round_.rule_id}
        assert {row.author for row in rows} == {services.pseudonym("U0ALICE")}
        author = services.pseudonym("U0ALICE")
        assert await stories_by(session=session, round_id=round_.id, author=author) == 3
        assert await stories_by(session=session, round_id=round_.id, author="other") == 0


async def test_record_anecdote_says_when_a_submission_was_already_stored(
    services: Services,
) -> None:
    round_ = await _round(services)
    assert await _record(services, round_, Visibility.ANONYMOUS, "V7") is True
    assert await _record(services, round_, Visibility.ANONYMOUS, "V7") is False


async def test_record_anecdote_refuses_empty_text(services: Services) -> None:
    round_ = await _round(services)
    async with services.sessions() as session, session.begin():
        with pytest.raises(StoryProblem):
            await record_anecdote(
                session=session,
                round_=round_,
                author="p",
                author_user_id="U0ALICE",
                visibility=Visibility.NAMED,
                text="   ",
                source_id="V9",
                now=services.now(),
            )
