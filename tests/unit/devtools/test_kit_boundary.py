"""devtools is a test and demo kit: the product never imports it, the wheel leaves it out, and
`trustbot demo` says what to do when it is missing."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trustbot import cli

ROOT = Path(__file__).resolve().parents[3]
PRODUCT = ROOT / "trustbot"
DEVTOOLS = "trustbot.devtools"


def _imported_modules(source: str, package: str) -> list[tuple[str, int, bool]]:
    """(module, line, at module level) for every import in a module of ``package``, relative
    ones resolved."""
    tree = ast.parse(source)
    top_level = {id(node) for node in tree.body}
    found: list[tuple[str, int, bool]] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        found += [(name, node.lineno, id(node) in top_level) for name in names]
    return found


def _devtools_imports() -> list[str]:
    hits = []
    for path in sorted(PRODUCT.rglob("*.py")):
        if path.is_relative_to(PRODUCT / "devtools"):
            continue
        package = ".".join(path.relative_to(ROOT).parts[:-1])
        for module, line, at_top in _imported_modules(path.read_text(encoding="utf-8"), package):
            if module == DEVTOOLS or module.startswith(DEVTOOLS + "."):
                where = "module level" if at_top else "in a function"
                hits.append(f"{path.relative_to(ROOT)}:{line} {module} ({where})")
    return hits


def test_only_the_demo_command_loads_devtools_and_only_lazily() -> None:
    hits = _devtools_imports()
    lazy_demo = [h for h in hits if h.startswith("trustbot/cli.py:") and "in a function" in h]
    assert set(hits) - set(lazy_demo) == set(), hits
    assert {h.split()[1] for h in lazy_demo} >= {
        "trustbot.devtools.demo.run_demo",
        "trustbot.devtools.demo_teams.run_teams_demo",
    }


def test_the_scan_sees_relative_and_nested_imports() -> None:
    """The scan itself: a product module importing devtools in any form is caught."""
    source = "from ..devtools import emulator\n\ndef f():\n    import trustbot.devtools.driver\n"
    found = _imported_modules(source, "trustbot.slack")
    assert ("trustbot.devtools", 1, True) in found
    assert ("trustbot.devtools.emulator", 1, True) in found
    assert ("trustbot.devtools.driver", 4, False) in found


def test_demo_without_devtools_says_how_to_run_it_and_exits_2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [m for m in sys.modules if m == DEVTOOLS or m.startswith(DEVTOOLS + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, DEVTOOLS, None)  # as if the wheel were installed
    for platform in ("slack", "teams"):
        result = CliRunner().invoke(cli.cli, ["demo", "--platform", platform])
        assert result.exit_code == 2, result.output
        assert result.stderr.strip() == cli.DEMO_NEEDS_DEVTOOLS
        assert "make demo" in result.stderr


def test_the_wheel_leaves_devtools_out(tmp_path: Path) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed (make setup installs it)")
    built = subprocess.run(  # noqa: S603 - uv from the venv, fixed arguments
        [uv, "build", "--wheel", "--out-dir", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("trustbot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "trustbot/cli.py" in names
    assert "trustbot/delivery/pacing.py" in names
    assert [n for n in names if n.startswith("trustbot/devtools")] == []
