"""Pulse answers: score values on buttons and stored answers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import FixedClock
from trustbot.core.pulse import (
    InvalidAnswerError,
    parse_score_value,
    record_pulse_answer,
    score_of,
    score_value,
)
from trustbot.core.rounds import open_round
from trustbot.core.services import Services
from trustbot.db.models import PulseAnswer


def test_parse_valid_value() -> None:
    assert parse_score_value("12:3") == (12, 3)
    assert parse_score_value("1:1") == (1, 1)
    assert parse_score_value(f"{2**31 - 1}:5") == (2**31 - 1, 5)


@pytest.mark.parametrize(
    "value",
    [
        "12:0",
        "12:6",
        "abc",
        "",
        "12",
        ":3",
        "12:",
        "-1:3",
        "12:-3",
        "12:3:4",
        "0:3",
        "12: 3",
        " 12:3",
        "12:3.0",
        "1e3:3",
        f"{2**31}:3",
        "9" * 40 + ":3",
        "9" * 4300 + ":3",
    ],
)
def test_parse_refuses(value: str) -> None:
    with pytest.raises(InvalidAnswerError):
        parse_score_value(value)


def test_parse_refuses_a_very_long_round_id_with_invalid_answer_error() -> None:
    with pytest.raises(InvalidAnswerError):
        parse_score_value("9" * 4301 + ":3")


def test_invalid_answer_is_value_error() -> None:
    assert issubclass(InvalidAnswerError, ValueError)


def test_score_value_round_trips() -> None:
    for score in range(1, 6):
        assert parse_score_value(score_value(77, score)) == (77, score)


async def _round_id(services: Services) -> int:
    async with services.sessions() as session, session.begin():
        round_, _ = await open_round(
            session=session, rules=services.rules, period="2026-W48", now=services.now()
        )
        return round_.id


async def _answers(services: Services) -> list[tuple[int, str, int]]:
    async with services.sessions() as session:
        rows = await session.execute(
            select(PulseAnswer.round_id, PulseAnswer.respondent, PulseAnswer.score).order_by(
                PulseAnswer.respondent
            )
        )
        return [(row[0], row[1], row[2]) for row in rows]


async def test_second_answer_replaces_the_first(services: Services, clock: FixedClock) -> None:
    round_id = await _round_id(services)
    person = services.pseudonym("U0ALICE")
    first_time = clock.now
    async with services.sessions() as session, session.begin():
        await record_pulse_answer(
            session=session, round_id=round_id, respondent=person, score=2, now=first_time
        )
    later = first_time + timedelta(hours=3)
    async with services.sessions() as session, session.begin():
        await record_pulse_answer(
            session=session, round_id=round_id, respondent=person, score=5, now=later
        )
    assert await _answers(services) == [(round_id, person, 5)]
    async with services.sessions() as session:
        row = await session.scalar(select(PulseAnswer))
        assert row is not None
        assert row.answered_at == first_time
        assert row.updated_at == later
        assert await score_of(session=session, round_id=round_id, respondent=person) == 5


async def test_different_people_get_their_own_rows(services: Services) -> None:
    round_id = await _round_id(services)
    alice, bob = services.pseudonym("U0ALICE"), services.pseudonym("U0BOB")
    async with services.sessions() as session, session.begin():
        await record_pulse_answer(
            session=session, round_id=round_id, respondent=alice, score=4, now=services.now()
        )
        await record_pulse_answer(
            session=session, round_id=round_id, respondent=bob, score=1, now=services.now()
        )
    assert await _answers(services) == sorted(
        [(round_id, alice, 4), (round_id, bob, 1)], key=lambda row: row[1]
    )
    async with services.sessions() as session:
        assert await score_of(session=session, round_id=round_id, respondent=alice) == 4
        assert await score_of(session=session, round_id=round_id, respondent="nobody") is None


@pytest.mark.parametrize("score", [0, 6, -1])
async def test_out_of_range_score_raises(services: Services, score: int) -> None:
    round_id = await _round_id(services)
    async with services.sessions() as session, session.begin():
        with pytest.raises(InvalidAnswerError):
            await record_pulse_answer(
                session=session,
                round_id=round_id,
                respondent=services.pseudonym("U0ALICE"),
                score=score,
                now=services.now(),
            )
    assert await _answers(services) == []
