"""Checks Slack Web API calls against Slack's published OpenAPI (Swagger 2.0) spec.

The spec (``tests/specs/slack_web_openapi_v2.json``) is stale since 2021: a method it does not
describe is not reported, but for a method it does describe, every argument the bot sent must be
a declared parameter (``token`` and slack_sdk's default ``team_id`` aside) and every required
parameter must be present.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from trustbot.devtools.emulator import ApiCall

SPEC_PATH = Path(__file__).parent / "specs" / "slack_web_openapi_v2.json"
# `token` travels in the Authorization header; `team_id` is a default parameter slack_sdk adds
# to every call of a client built with team_id=..., as Bolt builds its per-request client.
_IGNORED = frozenset({"token"})
_IGNORED_IF_UNDECLARED = frozenset({"team_id"})


@functools.cache
def _spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as f:
        spec: dict[str, Any] = json.load(f)
    return spec


@functools.cache
def _parameters(method: str) -> tuple[frozenset[str], frozenset[str]] | None:
    """(declared, required) parameter names of a method, or None when the spec lacks it."""
    path = _spec()["paths"].get("/" + method)
    if path is None:
        return None
    declared: set[str] = set()
    required: set[str] = set()
    for operation in path.values():
        if not isinstance(operation, dict):
            continue
        for parameter in operation.get("parameters", []):
            name = parameter["name"]
            declared.add(name)
            if parameter.get("required", False):
                required.add(name)
    return frozenset(declared - _IGNORED), frozenset(required - _IGNORED)


def check_web_api_call(method: str, args: Mapping[str, Any]) -> list[str]:
    """Problems with one call (empty when it matches the spec or the spec lacks the method)."""
    parameters = _parameters(method)
    if parameters is None:
        return []
    declared, required = parameters
    problems = [
        f"{method}: argument {name!r} is not a parameter of {method} in the spec"
        for name in sorted(set(args) - declared - _IGNORED - _IGNORED_IF_UNDECLARED)
    ]
    problems += [
        f"{method}: required parameter {name!r} is missing" for name in sorted(required - set(args))
    ]
    return problems


def assert_calls_match_spec(calls: Iterable[ApiCall]) -> None:
    """AssertionError listing every problem in these calls."""
    problems = [
        f"call #{i} {problem}"
        for i, call in enumerate(calls)
        for problem in check_web_api_call(call.method, call.args)
    ]
    if problems:
        raise AssertionError(
            "Web API calls do not match Slack's spec:\n" + "\n".join(f"- {p}" for p in problems)
        )
