"""The lock files (requirements.lock for the image, requirements-dev.lock for development and CI)
pin every dependency pyproject.toml asks for, at a version it allows, with hashes.

A dependency added to pyproject.toml without `make lock` fails here (and `make setup` says so).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^\s;\\]+)")


@dataclass(frozen=True)
class Pin:
    version: Version
    hashes: int


def read_lock(name: str) -> dict[str, list[Pin]]:
    """Every `name==version` entry of a lock (a universal lock may pin a name per platform)."""
    pins: dict[str, list[Pin]] = {}
    entries = re.split(r"\n(?=\S)", (ROOT / name).read_text())
    for entry in entries:
        match = PIN.match(entry)
        if match:
            pin = Pin(Version(match["version"]), entry.count("--hash=sha256:"))
            pins.setdefault(canonicalize_name(match["name"]), []).append(pin)
    return pins


def requirements(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = list(project["dependencies"])
    for extra in extras:
        listed += project["optional-dependencies"][extra]
    return [Requirement(line) for line in listed]


@pytest.mark.parametrize(
    ("lock", "extras"), [("requirements.lock", ()), ("requirements-dev.lock", ("dev",))]
)
def test_the_lock_pins_every_requirement_within_its_bounds(
    lock: str, extras: tuple[str, ...]
) -> None:
    pins = read_lock(lock)
    stale = []
    for requirement in requirements(*extras):
        found = pins.get(canonicalize_name(requirement.name), [])
        if not any(requirement.specifier.contains(pin.version, prereleases=True) for pin in found):
            stale.append(f"{requirement} (locked: {[str(pin.version) for pin in found]})")
    assert not stale, f"{lock} is stale, run `make lock`: {stale}"


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_every_pin_has_hashes(lock: str) -> None:
    pins = read_lock(lock)
    assert len(pins) > 20
    unhashed = [name for name, found in pins.items() if any(pin.hashes == 0 for pin in found)]
    assert not unhashed


def test_the_image_lock_has_no_development_tools() -> None:
    runtime = read_lock("requirements.lock")
    dev_only = {canonicalize_name(r.name) for r in requirements("dev")} - {
        canonicalize_name(r.name) for r in requirements()
    }
    assert dev_only
    assert not dev_only & runtime.keys()


def test_the_development_lock_agrees_with_the_image_lock() -> None:
    # Tests run against the versions the image ships.
    runtime, dev = read_lock("requirements.lock"), read_lock("requirements-dev.lock")
    differ = {
        name: (found, dev.get(name))
        for name, found in runtime.items()
        if {p.version for p in found} != {p.version for p in dev.get(name, [])}
    }
    assert not differ, f"run `make lock`: {differ}"
