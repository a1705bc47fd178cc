"""`trustbot report`: a rule or team that does not exist is refused with the valid ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import TEST_KEY
from trustbot.cli import cli


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's is read
    monkeypatch.setenv("TRUSTBOT_PSEUDONYM_KEY", TEST_KEY)
    monkeypatch.setenv("TRUSTBOT_TEAMS", "Sales=S0SALES,Support=S0SUPPORT")


def test_a_rule_beyond_the_rules_is_refused_with_their_range(env: None) -> None:
    result = CliRunner().invoke(cli, ["report", "--rule", "9"])
    assert result.exit_code == 2
    assert result.output == "--rule: there is no rule 9; the rules are numbered 1-5\n"


def test_an_unknown_team_is_refused_with_the_teams(env: None) -> None:
    result = CliRunner().invoke(cli, ["report", "--team", "Nope"])
    assert result.exit_code == 2
    assert result.output == (
        "--team: 'Nope' is not a team of TRUSTBOT_TEAMS (the teams: Sales, Support)\n"
    )


def test_no_teams_set_says_so(env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRUSTBOT_TEAMS")
    result = CliRunner().invoke(cli, ["report", "--team", "Sales"])
    assert result.exit_code == 2
    assert "(the teams: none: TRUSTBOT_TEAMS is empty)" in result.output
