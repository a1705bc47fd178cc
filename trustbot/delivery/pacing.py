"""Pacing for the sender: a workspace-wide rate with bursts that slows down when told to.

Slack allows chat.postMessage about one message per second per channel and a workspace-wide
rate on top; it answers 429 with Retry-After beyond them. The sender starts each message only
when `Pacer.acquire` lets it: a token bucket at the configured rate, plus one message per second
per channel. A 429 cuts the rate (multiplicative decrease) and it climbs back with each send
that succeeds (additive increase), so a burst of 429s slows everyone down while a stray one costs
little. Counting the climb in sends rather than seconds makes it the same at any rate: after a
cut, about (1 - SLOWDOWN) / RECOVERY_PER_SEND = 13 sends bring the rate back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

PER_CHANNEL_INTERVAL_S = 1.0
SLOWDOWN = 0.9  # a 429 cuts the rate to this share
RECOVERY_PER_SEND = 0.0075  # share of the configured rate regained with each send that succeeds
FLOOR = 0.1  # never slower than this share of the configured rate
_EPSILON = 1e-9  # float dust: ten refills of a tenth of a token make a whole one


class Pacer:
    """Decides when the next message may start."""

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._max_rate = rate
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._paused_until = 0.0
        self._channel_next: dict[str, float] = {}
        self._lock = asyncio.Lock()

    @property
    def rate(self) -> float:
        """The current rate, messages per second."""
        return self._rate

    async def acquire(self, channel: str | None = None) -> None:
        """Wait until one more message may start (to `channel`, at most one per second)."""
        async with self._lock:  # first come, first served
            while True:
                now = self._refill()
                wait = max(0.0, self._paused_until - now)
                if channel is not None:
                    wait = max(wait, self._channel_next.get(channel, 0.0) - now)
                if wait == 0.0 and self._tokens >= 1.0 - _EPSILON:
                    self._tokens -= 1.0
                    if channel is not None:
                        self._channel_next[channel] = now + PER_CHANNEL_INTERVAL_S
                        self._forget_old_channels(now)
                    return
                if wait == 0.0:
                    wait = (1.0 - self._tokens) / self._rate
                await self._sleep(wait)

    def slow_down(self, retry_after: float | None = None) -> None:
        """A 429: cut the rate, and start nothing new before `retry_after` seconds if the
        platform says the whole workspace must wait (our caller decides)."""
        now = self._refill()
        self._rate = max(self._max_rate * FLOOR, self._rate * SLOWDOWN)
        self._tokens = min(self._tokens, 0.0)
        if retry_after is not None:
            self._paused_until = max(self._paused_until, now + retry_after)

    def succeeded(self) -> None:
        """A send went through: climb back towards the configured rate."""
        self._refill()
        self._rate = min(self._max_rate, self._rate + self._max_rate * RECOVERY_PER_SEND)

    def _refill(self) -> float:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._updated = now
        self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
        return now

    def _forget_old_channels(self, now: float) -> None:
        if len(self._channel_next) > 10_000:
            self._channel_next = {c: t for c, t in self._channel_next.items() if t > now}
