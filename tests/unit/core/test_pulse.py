"""Pulse answers: the score values score buttons carry."""

from __future__ import annotations

import pytest

from trustbot.core.pulse import InvalidAnswerError, parse_score_value, score_value


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
