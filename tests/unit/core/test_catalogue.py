"""The catalogue: complete and consistent in both languages."""

from __future__ import annotations

import string

import pytest

from trustbot.core.catalogue import keys, score_label, text


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def test_catalogue_has_keys() -> None:
    assert len(keys()) > 40
    assert len(set(keys())) == len(keys())


@pytest.mark.parametrize("key", keys())
def test_both_languages_present_with_same_placeholders(key: str) -> None:
    da, en = text(key, "da"), text(key, "en")
    assert da.strip()
    assert en.strip()
    assert _placeholders(da) == _placeholders(en), key


def test_values_are_filled_in() -> None:
    assert text("report.title", "en", weeks=8) == "Trust report: the last 8 weeks"
    assert text("report.title", "da", weeks=8) == "Tillidsrapport: de seneste 8 uger"
    assert text("story.error.too_long", "en", limit=2000, length=2001) == (
        "At most 2000 characters; yours has 2001."
    )


def test_score_labels() -> None:
    assert [score_label(score, "en") for score in range(1, 6)] == [
        "Not at all",
        "A little",
        "Somewhat",
        "Well",
        "Very well",
    ]
    assert score_label(5, "da") == "Rigtig godt"
    with pytest.raises(KeyError):
        score_label(6, "en")


def test_unknown_key_raises() -> None:
    with pytest.raises(KeyError):
        text("no.such.key", "en")
