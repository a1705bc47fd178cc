"""JSON from the outside world, parsed at a bounded cost.

`json.loads` costs about 50 ns a token and 250 ns an object, so a body of a megabyte of `[1,1,…]`
or `[{},{},…]` takes 25-35 ms of CPU (the event loop serves everyone meanwhile), a number of
thousands of digits costs quadratic time to convert (or fails with ValueError), and deep nesting
raises RecursionError, which is not a ValueError. Every check here is either a C-speed count
before parsing or a hook that sees one token: the refusal costs far less than the parse it
avoids (bench/refusal_cost.py). The limits are far above what Slack or Teams send trustbot.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_TOKENS = 20_000
"""Separators (`,` and `:`) in one document: Slack's and Teams' payloads to trustbot have a few
hundred (a prompt message's blocks included)."""
MAX_DEPTH = 64
"""Nesting: Block Kit payloads reach about 10."""
MAX_NUMBER_CHARS = 40
"""Characters in one number: ids and timestamps are strings; scores, round ids are short."""


class UnsafeJson(ValueError):
    """The text is not JSON trustbot will read; the message says why, never the content."""


def loads_limited(raw: bytes | str) -> Any:
    """The parsed document, or UnsafeJson (invalid, too many tokens, too deep, absurd numbers)."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UnsafeJson("body is not UTF-8") from None
    if raw.count(",") + raw.count(":") > MAX_TOKENS:
        raise UnsafeJson(f"JSON with more than {MAX_TOKENS} tokens")
    try:
        value = json.loads(
            raw,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_refuse_constant,
        )
    except UnsafeJson:
        raise
    except (ValueError, RecursionError):
        raise UnsafeJson("not JSON") from None
    openers = raw.count("[") + raw.count("{")
    if openers > MAX_DEPTH and _depth(value) > MAX_DEPTH:
        raise UnsafeJson(f"JSON nested deeper than {MAX_DEPTH}")
    return value


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise UnsafeJson(f"a number of more than {MAX_NUMBER_CHARS} characters")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise UnsafeJson(f"a number of more than {MAX_NUMBER_CHARS} characters")
    value = float(text)
    if not math.isfinite(value):
        raise UnsafeJson("a number out of range")
    return value


def _refuse_constant(name: str) -> Any:
    raise UnsafeJson("NaN or Infinity")


def _depth(value: Any) -> int:
    """The nesting depth, walked without recursion (the token limit bounds the walk)."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while pending:
        node, depth = pending.pop()
        children = node.values() if isinstance(node, dict) else node
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            return depth
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest
