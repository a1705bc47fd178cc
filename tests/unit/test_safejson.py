"""JSON from outside: refused cheaply when absurd, parsed as json.loads otherwise."""

from __future__ import annotations

import json
from typing import Any

import pytest

from trustbot.safejson import MAX_DEPTH, MAX_NUMBER_CHARS, MAX_TOKENS, UnsafeJson, loads_limited


@pytest.mark.parametrize(
    "document",
    [
        '{"type": "block_actions", "actions": [{"value": "1:5", "n": 12, "f": 1.5}]}',
        "[]",
        '"text"',
        "null",
        json.dumps({"x": "🔥" * 10_000, "deep": [[[[[]]]]]}),
        "[" * MAX_DEPTH + "]" * MAX_DEPTH,
        "9" * MAX_NUMBER_CHARS,
        "[" + ",".join(["0"] * MAX_TOKENS) + "]",
    ],
)
def test_what_json_reads_is_read_alike(document: str) -> None:
    assert loads_limited(document) == json.loads(document)
    assert loads_limited(document.encode()) == json.loads(document)


@pytest.mark.parametrize(
    ("document", "why"),
    [
        ("{not json", "not JSON"),
        (b'{"a": "\xff"}', "not UTF-8"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "nested deeper"),
        ('{"a": ' * 100_000, "tokens"),  # counted before json could recurse
        ("[" * 100_000, "not JSON"),
        ("9" * (MAX_NUMBER_CHARS + 1), "more than"),
        ("9" * 5000, "more than"),
        ("1e999", "out of range"),
        ("-1e400", "out of range"),
        ("0." + "1" * 100, "more than"),
        ("NaN", "NaN or Infinity"),
        ("[Infinity]", "NaN or Infinity"),
        ("[" + ",".join(["0"] * (MAX_TOKENS + 2)) + "]", "tokens"),
        (
            "{" + ",".join(f'"k{i}": 0' for i in range(MAX_TOKENS // 2 + 1)) + "}",
            "tokens",
        ),
    ],
)
def test_absurd_json_is_refused_saying_why_without_the_content(document: Any, why: str) -> None:
    with pytest.raises(UnsafeJson) as refused:
        loads_limited(document)

    assert why in str(refused.value)
    assert len(str(refused.value)) < 80
