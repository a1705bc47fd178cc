"""Anecdotes: story cleaning and visibility parsing."""

from __future__ import annotations

import pytest

from trustbot.core.anecdotes import MAX_STORY_LENGTH, StoryProblem, clean_story, parse_visibility
from trustbot.kinds import Visibility


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
