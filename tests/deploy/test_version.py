"""`trustbot --version`: the installed package's version, exit 0, before anything else runs."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from typer.testing import CliRunner

from trustbot.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def pyproject_version() -> str:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert isinstance(version, str)
    return version


def test_version_prints_the_packages_version_and_exits_0() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output == f"trustbot {pyproject_version()}\n"


def test_version_needs_no_settings() -> None:
    # An invalid setting would stop any command with exit 2; --version reads none of them.
    result = CliRunner().invoke(cli, ["--version"], env={"TRUSTBOT_PORT": "not-a-port"})
    assert result.exit_code == 0, result.output
    assert result.output.startswith("trustbot ")


def test_console_script_prints_the_version() -> None:
    script = Path(sys.executable).with_name("trustbot")
    done = subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(script), "--version"], capture_output=True, text=True, check=False, timeout=60
    )
    assert (done.returncode, done.stdout) == (0, f"trustbot {pyproject_version()}\n"), done.stderr
