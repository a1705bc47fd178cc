"""The layers of docs/architecture.md, read from the source's imports: each imports only below it.

Imports under `if TYPE_CHECKING:` count too: a type is a dependency all the same.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "trustbot"
# What each part may never import (a prefix of a module name).
NEVER = {
    "kinds": ("trustbot.",),
    "db": ("trustbot.core", "trustbot.render", "trustbot.slack", "trustbot.teams"),
    "core": ("trustbot.render", "trustbot.slack", "trustbot.teams", "trustbot.delivery"),
    "render": ("trustbot.slack", "trustbot.teams", "trustbot.delivery", "trustbot.scheduler"),
    "delivery": ("trustbot.slack", "trustbot.teams", "trustbot.scheduler"),
    "scheduler": ("trustbot.slack", "trustbot.teams"),
    "slack": ("trustbot.teams",),
    "teams": ("trustbot.slack",),
}
# Builders are pure: they are handed a chart's bytes, they do not draw it.
BUILDERS = {
    "teams/cards.py": ("trustbot.render.chart",),
    "slack/blocks/": ("trustbot.render.chart",),
}
PRODUCT = ("trustbot.devtools",)  # nothing outside devtools imports it...
DEMO = "cli"  # ...but the `demo` command, lazily, inside the command


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _top_level_imports(path: Path) -> set[str]:
    """The modules a file imports when it is imported (not those its functions import)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _part(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


@pytest.mark.parametrize("source", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.name))
def test_each_module_imports_only_what_its_layer_may(source: Path) -> None:
    part = _part(source)
    forbidden = NEVER.get(part, ())
    if part not in ("devtools", DEMO):
        forbidden += PRODUCT
    where = source.relative_to(PACKAGE).as_posix()
    for builder, drawing in BUILDERS.items():
        if where.startswith(builder):
            forbidden += drawing
    wrong = sorted(name for name in _imports(source) if name.startswith(forbidden))
    assert wrong == [], f"{source.relative_to(PACKAGE.parent)} imports {wrong}"


def test_importing_any_module_changes_nothing_and_draws_nothing() -> None:
    """No side effects on import: the environment and warning filters stay as they were."""
    modules = sorted(
        {name for path in PACKAGE.rglob("*.py") for name in _top_level_imports(path)}
        - {"__future__"}
    )
    ours = sorted(
        ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        for path in PACKAGE.rglob("*.py")
        if "devtools" not in path.parts and path.name != "__main__.py"
    )
    script = (
        "import importlib, os, sys, warnings\n"
        f"for name in {[m for m in modules if not m.startswith('trustbot')]!r}:\n"
        "    importlib.import_module(name)  # what the libraries do on import is theirs\n"
        "env, filters = dict(os.environ), list(warnings.filters)\n"
        f"for name in {ours!r}:\n"
        "    importlib.import_module(name)\n"
        "assert dict(os.environ) == env, sorted(set(os.environ) ^ set(env))\n"
        "assert warnings.filters == filters, 'warning filters changed on import'\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
