"""What both emulators share to play a platform that misbehaves, and to tell a test what it saw.

* :class:`FaultInjector`: faults scripted for the next calls (``fail_next`` and friends), then
  faults drawn at random from seeded rates (``inject_random_failures``). Each emulator turns a
  :class:`Fault` into its platform's answer (Slack's ``{"ok": false}`` or HTML error pages,
  the Bot Connector's error bodies).
* :class:`CallLog`: every call an emulator answered, in order, indexed and counted by a key
  (the Web API method, the HTTP verb).
* :func:`wait_until`: a test's wait for a condition, failing with a summary of the emulator's
  state instead of a bare timeout.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["CallLog", "Fault", "FaultInjector", "wait_until"]

DROPPED = 0
"""The status of a :class:`Fault` that drops the connection instead of answering."""


@dataclass(frozen=True)
class Fault:
    """One answer that replaces a call's real one; the call is not performed."""

    status: int
    """The HTTP status (429, 5xx...); :data:`DROPPED` drops the connection; 200 with ``error``
    is Slack's ``{"ok": false, "error": ...}``."""
    retry_after: int | None = None
    """The ``Retry-After`` header's seconds, if any."""
    error: str | None = None
    """A platform error code (Slack's ``error`` field)."""
    body: dict[str, object] | str | None = None
    """A body to send instead of the platform's usual one for ``status``."""


@dataclass
class _RandomFaults:
    rate_429: float
    rate_5xx: float
    retry_after: int
    rng: random.Random
    statuses: Iterator[int]  # the 5xx statuses, in turn


class FaultInjector:
    """Scripted faults first, then seeded random ones.

    A fault is scripted for one key (a Web API method, an HTTP verb) or for any key (None), at
    a ``rank``: the lowest rank scripted for a call comes first, faults of one rank in the order
    scripted (the Slack emulator ranks its kinds of fault; the Teams one keeps them in order).
    """

    def __init__(self, server_error_statuses: tuple[int, ...]) -> None:
        self.server_error_statuses = server_error_statuses
        """The 5xx statuses random failures cycle through."""
        self._scripted: dict[int, deque[tuple[str | None, Fault]]] = defaultdict(deque)
        self._scripted_keys: Counter[str | None] = Counter()
        self._random: dict[str | None, _RandomFaults] = {}

    def script(self, key: str | None, fault: Fault, times: int = 1, *, rank: int = 0) -> None:
        """Answer the next ``times`` calls of ``key`` (None: any call) with ``fault``."""
        if times < 0:
            raise ValueError("times must not be negative")
        self._scripted[rank].extend([(key, fault)] * times)
        self._scripted_keys[key] += times

    def scripted(self, key: str, *, max_rank: int | None = None) -> Fault | None:
        """The next fault scripted for ``key`` (taken off the script; at most ``max_rank``),
        or None."""
        if not (self._scripted_keys[key] or self._scripted_keys[None]):
            return None  # the common case, without scanning the script
        for rank in sorted(self._scripted):
            if max_rank is not None and rank > max_rank:
                break
            queue = self._scripted[rank]
            for index, (wanted, fault) in enumerate(queue):
                if wanted in (None, key):
                    del queue[index]
                    self._scripted_keys[wanted] -= 1
                    return fault
        return None

    def inject_random(
        self,
        key: str | None,
        *,
        rate_429: float,
        rate_5xx: float,
        seed: int | None,
        retry_after: int,
    ) -> None:
        """Refuse calls of ``key`` (None: any) at random: 429 with probability ``rate_429``,
        else one of the server error statuses in turn with probability ``rate_5xx``. Both 0
        turn it off; a ``seed`` makes the draws repeatable."""
        if not (0 <= rate_429 <= 1 and 0 <= rate_5xx <= 1 and rate_429 + rate_5xx <= 1):
            raise ValueError("rate_429 and rate_5xx must be probabilities that sum to at most 1")
        if retry_after < 0:
            raise ValueError("retry_after must not be negative")
        self._random.pop(key, None)
        if rate_429 or rate_5xx:
            statuses = itertools.cycle(self.server_error_statuses)
            self._random[key] = _RandomFaults(
                rate_429, rate_5xx, retry_after, random.Random(seed), statuses
            )

    def drawn(self, key: str) -> Fault | None:
        """A fault drawn by :meth:`inject_random`'s rates for ``key``, or None."""
        chance = self._random.get(key) or self._random.get(None)
        if chance is None:
            return None
        draw = chance.rng.random()
        if draw < chance.rate_429:
            return Fault(429, retry_after=chance.retry_after)
        if draw < chance.rate_429 + chance.rate_5xx:
            return Fault(next(chance.statuses))
        return None


class CallLog[C]:
    """Every call answered, in order, with an index and a count per key."""

    def __init__(self, key: Callable[[C], str]) -> None:
        self._key = key
        self.calls: list[C] = []
        self.counts: Counter[str] = Counter()
        """Calls per key, whatever their answer."""
        self._by_key: dict[str, list[C]] = defaultdict(list)

    def record(self, call: C) -> None:
        key = self._key(call)
        self.calls.append(call)
        self._by_key[key].append(call)
        self.counts[key] += 1

    def to(self, key: str) -> list[C]:
        """The calls of one key, in order (a copy)."""
        return list(self._by_key.get(key, ()))


async def wait_until(
    predicate: Callable[[], bool],
    timeout: float,  # noqa: ASYNC109 - the emulators' wait_for API
    *,
    what: str | None,
    state: Callable[[], str],
) -> None:
    """Poll ``predicate`` every 10 ms; AssertionError naming it and ``state()`` on timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            name = what or getattr(predicate, "__qualname__", repr(predicate))
            raise AssertionError(f"timed out after {timeout} s waiting for {name}; {state()}")
        await asyncio.sleep(0.01)
