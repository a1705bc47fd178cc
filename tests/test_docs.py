"""Every setting is documented in .env.example and docs/configuration.md, and the example loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from trustbot.config import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
VARIABLES = sorted(field.alias or name for name, field in Settings.model_fields.items())


@pytest.mark.parametrize("document", [".env.example", "docs/configuration.md"])
def test_every_setting_is_documented(document: str) -> None:
    text = (ROOT / document).read_text(encoding="utf-8")

    missing = [variable for variable in VARIABLES if variable not in text]

    assert missing == []


def test_the_example_file_loads_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)

    settings = load_settings(_env_file=".env.example")

    assert settings.slack_bot_token is None
    assert settings.language == "da"
    assert settings.min_group_size == 5


def test_the_readme_gives_the_two_newcomer_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")

    assert "```sh\nmake demo\nmake test\n```" in readme
