"""Checks Adaptive Cards the bot sends to Teams against the Adaptive Cards 1.5 JSON schema.

The schema (``tests/specs/adaptive-card-1.5.schema.json``, draft-06) is strict: every object has
``additionalProperties: false``. Teams reads one property the schema does not know, the card's
``msteams`` object (``{"width": "Full"}``, mention entities), so that one is allowed explicitly.
"""

from __future__ import annotations

import copy
import functools
import json
from collections import defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator
from jsonschema.exceptions import ValidationError, best_match

SCHEMA_PATH = Path(__file__).parent / "specs" / "adaptive-card-1.5.schema.json"
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
# Teams renders cards up to 1.5 on desktop and web (mobile too, since 2023).
_VERSIONS = frozenset({"1.0", "1.1", "1.2", "1.3", "1.4", "1.5"})


@functools.cache
def _validator() -> Draft6Validator:
    with SCHEMA_PATH.open(encoding="utf-8") as f:
        schema: dict[str, Any] = json.load(f)
    definitions = copy.deepcopy(schema["definitions"])
    definitions["AdaptiveCard"]["properties"]["msteams"] = {
        "type": "object",
        "description": "Teams-only card settings, e.g. width and mention entities.",
    }
    # Validate against the card definition itself: the schema's root wraps it in anyOf/allOf,
    # which would hide every problem behind "not valid under any of the given schemas".
    return Draft6Validator({"$ref": "#/definitions/AdaptiveCard", "definitions": definitions})


def validate_adaptive_card(card: Mapping[str, Any]) -> list[str]:
    """Problems with a top-level Adaptive Card, each as ``path: message`` (empty when valid)."""
    return list(_problems(json.dumps(card, sort_keys=True)))


@functools.lru_cache(maxsize=1024)
def _problems(card_json: str) -> tuple[str, ...]:
    # One validation per distinct card: the schema's anyOf over every element type makes it
    # cost ~0.1 s, and a test sends the same card to several people.
    card: dict[str, Any] = json.loads(card_json)
    problems: list[str] = []
    if card.get("type") != "AdaptiveCard":
        problems.append(f"(card): type must be 'AdaptiveCard', not {card.get('type')!r}")
    if card.get("version") not in _VERSIONS:
        # The schema leaves version optional; Teams needs it on the top-level card.
        problems.append(f"(card): version must be one of 1.0-1.5, not {card.get('version')!r}")
    errors = sorted(_validator().iter_errors(dict(card)), key=lambda e: list(e.absolute_path))
    for error in errors:
        problems.extend(_explain(error))
    return tuple(problems)


def cards_in(activity: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Adaptive Cards attached to an activity's JSON, in order."""
    attachments = activity.get("attachments") or []
    return [
        a["content"]
        for a in attachments
        if isinstance(a, dict) and a.get("contentType") == ADAPTIVE_CARD
    ]


def _explain(error: ValidationError) -> Iterator[str]:
    """Readable messages for one error. An element or action is an ``anyOf`` over every type;
    the branch that matters is the one whose ``type`` matched the element's."""
    where = "/".join(str(p) for p in error.absolute_path) or "(card)"
    if not error.context:
        yield f"{where}: {error.message}"
        return
    if not isinstance(error.instance, dict) or "type" not in error.instance:
        # A value with alternatives, typically "an enum or null": null is not the point.
        useful = [e for e in error.context if e.validator_value != "null"] or error.context
        yield f"{where}: {best_match(useful).message}"
        return
    branches: dict[Any, list[ValidationError]] = defaultdict(list)
    for sub in error.context:
        branches[sub.relative_schema_path[0]].append(sub)
    matching = [
        errs
        for errs in branches.values()
        if not any(e.validator == "enum" and list(e.relative_path) == ["type"] for e in errs)
    ]
    if len(matching) != 1:
        yield f"{where}: {error.instance['type']!r} is not a type allowed here"
        return
    for sub in matching[0]:
        yield from _explain(sub)
