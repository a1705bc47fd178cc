"""Pulse answers: a 1-5 score per person per round; answering again replaces it."""

from __future__ import annotations

MIN_SCORE, MAX_SCORE = 1, 5
MAX_ID_DIGITS = 10


class InvalidAnswerError(ValueError):
    """A score or round reference that cannot be an answer (tampered or stale data).

    Its message says what was wrong and never quotes the value: it is logged."""


def parse_score_value(value: str) -> tuple[int, int]:
    """(round id, score) from a score button's value `"<round id>:<score>"`."""
    round_text, sep, score_text = value.partition(":")
    if not (sep and _is_number(round_text, MAX_ID_DIGITS) and _is_number(score_text, 1)):
        raise InvalidAnswerError("malformed score value")
    round_id, score = int(round_text), int(score_text)
    if not MIN_SCORE <= score <= MAX_SCORE:
        raise InvalidAnswerError(f"score outside {MIN_SCORE}-{MAX_SCORE}")
    if round_id < 1 or round_id > 2**31 - 1:
        raise InvalidAnswerError("round id out of range")
    return round_id, score


def _is_number(text: str, max_digits: int) -> bool:
    """ASCII digits only, and few enough that int() is cheap and cannot refuse them."""
    return 0 < len(text) <= max_digits and text.isascii() and text.isdigit()


def score_value(round_id: int, score: int) -> str:
    """The value a score button carries."""
    return f"{round_id}:{score}"
