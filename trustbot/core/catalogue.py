"""Every user-visible string, in Danish and English: one file per language in core/texts/."""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from typing import Literal

Language = Literal["da", "en"]

LANGUAGES: tuple[Language, ...] = ("da", "en")


@functools.cache
def _texts(language: Language) -> dict[str, str]:
    """The language's file of texts (core/texts/<language>.toml), read once, when first used."""
    with resources.files(__package__).joinpath("texts", f"{language}.toml").open("rb") as handle:
        return tomllib.load(handle)


def text(key: str, language: Language, **values: object) -> str:
    """The catalogue text for `key` in `language`, with `values` filled in."""
    template = _texts(language)[key]
    return template.format(**values) if values else template


def keys() -> list[str]:
    """Every catalogue key of any language (for tests that check each language has them all)."""
    return list(dict.fromkeys(key for language in LANGUAGES for key in _texts(language)))


def score_label(score: int, language: Language) -> str:
    """The words for a 1-5 pulse score."""
    return text(f"score.{score}", language)
