"""Culture rules: the Call me Way defaults and TOML/YAML rule files."""

from __future__ import annotations

from pathlib import Path

import pytest

from trustbot.core.rules import (
    CALL_ME_WAY,
    MAX_RULE_LENGTH,
    MAX_RULES,
    Rule,
    RulesFileError,
    load_rules,
)

DANISH = [
    "Vi bygger vores succeser på mange små gode ideer og beslutninger.",
    "Vi tror på, at trust (tillid) kommer indefra.",
    "Vi giver vores kolleger mod til at gøre en forskel og gå nye veje.",
    "Vi kommer hurtigt langt med lidt.",
    "Vi udnytter den energi, det giver at have det sjovt.",
]


def test_default_rules_are_the_call_me_way() -> None:
    rules = load_rules(None)
    assert rules is CALL_ME_WAY
    assert [rule.position for rule in rules] == [1, 2, 3, 4, 5]
    assert [rule.da for rule in rules] == DANISH
    assert all(rule.en.strip() and rule.en != rule.da for rule in rules)


def test_rule_text_per_language() -> None:
    rule = Rule(1, "dansk", "english")
    assert rule.text("da") == "dansk"
    assert rule.text("en") == "english"


def test_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        '[[rules]]\nda = "  Første regel  "\nen = "First rule"\n\n'
        '[[rules]]\nda = "Anden regel"\nen = "Second rule"\n',
        encoding="utf-8",
    )
    assert load_rules(path) == (
        Rule(1, "Første regel", "First rule"),
        Rule(2, "Anden regel", "Second rule"),
    )


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".YAML"])
def test_yaml_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"rules{suffix}"
    path.write_text(
        "rules:\n  - da: Én\n    en: One\n  - da: To\n    en: Two\n  - da: Tre\n    en: Three\n",
        encoding="utf-8",
    )
    assert load_rules(path) == (Rule(1, "Én", "One"), Rule(2, "To", "Two"), Rule(3, "Tre", "Three"))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("rules.toml", "rules = []\n", "rules.toml: expected a non-empty list under `rules`"),
        ("rules.yaml", "rules: []\n", "rules.yaml: expected a non-empty list under `rules`"),
        ("rules.yaml", "", "rules.yaml: expected a non-empty list under `rules`"),
        ("rules.yaml", "- da: x\n  en: y\n", "rules.yaml: expected a non-empty list under `rules`"),
        ("rules.toml", "other = 1\n", "rules.toml: expected a non-empty list under `rules`"),
        (
            "rules.toml",
            '[[rules]]\nda = "Kun dansk"\n',
            "rules.toml: rule 1 has no `en` text",
        ),
        (
            "rules.yaml",
            "rules:\n  - da: A\n    en: B\n  - en: only english\n",
            "rules.yaml: rule 2 has no `da` text",
        ),
        (
            "rules.yaml",
            "rules:\n  - da: A\n    en: '   '\n",
            "rules.yaml: rule 1 has no `en` text",
        ),
        (
            "rules.yaml",
            "rules:\n  - da: A\n    en: 5\n",
            "rules.yaml: rule 1 has no `en` text",
        ),
        (
            "rules.yaml",
            "rules:\n  - just a string\n",
            "rules.yaml: rule 1 must have `da` and `en` texts",
        ),
        ("rules.json", '{"rules": []}', "rules.json: use a .toml, .yaml or .yml file"),
        ("rules.txt", "rules", "rules.txt: use a .toml, .yaml or .yml file"),
    ],
)
def test_bad_rule_files(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RulesFileError) as caught:
        load_rules(path)
    assert str(caught.value) == message


def test_unparsable_toml(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("[[rules]\nda = ", encoding="utf-8")
    with pytest.raises(RulesFileError, match=r"^rules\.toml cannot be parsed: "):
        load_rules(path)


def test_unparsable_yaml(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text("rules: [\n  - da: : :\n", encoding="utf-8")
    with pytest.raises(RulesFileError, match=r"^rules\.yml cannot be parsed: "):
        load_rules(path)


def test_rule_length_limit(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(f'[[rules]]\nda = "{"a" * MAX_RULE_LENGTH}"\nen = "ok"\n', encoding="utf-8")
    assert load_rules(path)[0].da == "a" * MAX_RULE_LENGTH
    path.write_text(
        f'[[rules]]\nda = "ok"\nen = "{"a" * (MAX_RULE_LENGTH + 1)}"\n', encoding="utf-8"
    )
    with pytest.raises(RulesFileError, match=r"rule 1 `en` is over 500 characters"):
        load_rules(path)


def test_rules_file_error_is_a_value_error() -> None:
    assert issubclass(RulesFileError, ValueError)


def test_rule_count_limit(tmp_path: Path) -> None:
    entry = '[[rules]]\nda = "Regel"\nen = "Rule"\n'
    path = tmp_path / "rules.toml"
    path.write_text(entry * MAX_RULES, encoding="utf-8")
    assert len(load_rules(path)) == MAX_RULES

    path.write_text(entry * (MAX_RULES + 1), encoding="utf-8")
    with pytest.raises(RulesFileError, match=f"at most {MAX_RULES} rules, found {MAX_RULES + 1}"):
        load_rules(path)
