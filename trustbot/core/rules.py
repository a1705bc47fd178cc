"""The culture rules: the Call me Way by default, replaceable from a TOML or YAML file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from trustbot.core.catalogue import Language


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of the culture, in both languages; position is 1-based."""

    position: int
    da: str
    en: str

    def text(self, language: Language) -> str:
        """The rule in the given language."""
        return self.da if language == "da" else self.en


CALL_ME_WAY: tuple[Rule, ...] = (
    Rule(
        1,
        "Vi bygger vores succeser på mange små gode ideer og beslutninger.",
        "We build our successes on many small good ideas and decisions.",
    ),
    Rule(
        2,
        "Vi tror på, at trust (tillid) kommer indefra.",
        "We believe that trust comes from within.",
    ),
    Rule(
        3,
        "Vi giver vores kolleger mod til at gøre en forskel og gå nye veje.",
        "We give our colleagues the courage to make a difference and break new ground.",
    ),
    Rule(4, "Vi kommer hurtigt langt med lidt.", "We get far, fast, with little."),
    Rule(
        5,
        "Vi udnytter den energi, det giver at have det sjovt.",
        "We harness the energy that comes from having fun.",
    ),
)

MAX_RULE_LENGTH = 500
MAX_RULES = 20  # a culture is a handful of rules; more would not fit a report either


class RulesFileError(ValueError):
    """A rules file that cannot be used."""


def load_rules(path: Path | None) -> tuple[Rule, ...]:
    """The rules from `path` (TOML or YAML), or the Call me Way when no file is given."""
    if path is None:
        return CALL_ME_WAY
    raw = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".toml":
            data: Any = tomllib.loads(raw)
        elif path.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(raw)
        else:
            raise RulesFileError(f"{path.name}: use a .toml, .yaml or .yml file")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as error:
        raise RulesFileError(f"{path.name} cannot be parsed: {error}") from None
    entries = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise RulesFileError(f"{path.name}: expected a non-empty list under `rules`")
    if len(entries) > MAX_RULES:
        raise RulesFileError(f"{path.name}: at most {MAX_RULES} rules, found {len(entries)}")
    rules = []
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise RulesFileError(f"{path.name}: rule {index} must have `da` and `en` texts")
        da, en = entry.get("da"), entry.get("en")
        for language, value in (("da", da), ("en", en)):
            if not isinstance(value, str) or not value.strip():
                raise RulesFileError(f"{path.name}: rule {index} has no `{language}` text")
            if len(value) > MAX_RULE_LENGTH:
                raise RulesFileError(
                    f"{path.name}: rule {index} `{language}` is over {MAX_RULE_LENGTH} characters"
                )
        assert isinstance(da, str)
        assert isinstance(en, str)
        rules.append(Rule(index, da.strip(), en.strip()))
    return tuple(rules)
