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
from dataclasses import dataclass

PER_CHANNEL_INTERVAL_S = 1.0
SLOWDOWN = 0.9  # a 429 cuts the rate to this share
RECOVERY_PER_SEND = 0.0075  # share of the configured rate regained with each send that succeeds
FLOOR = 0.1  # never slower than this share of the configured rate
_EPSILON = 1e-9  # float dust: ten refills of a tenth of a token make a whole one


@dataclass
class TokenBucket:
    """Holds up to ``capacity`` tokens, refilled at ``rate`` per second; a start takes one.

    It only counts (the caller owns the clock and decides whether to wait): the Pacer waits,
    the Slack emulator's rate limits answer 429 with the wait instead.
    """

    rate: float
    capacity: float
    tokens: float
    updated: float

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def wait(self, now: float) -> float:
        """Seconds until a token is available (0.0 when one is), after refilling up to now."""
        self.refill(now)
        if self.tokens >= 1 - _EPSILON:
            return 0.0
        return (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens = max(0.0, self.tokens - 1)


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
        self._bucket = TokenBucket(rate, float(burst), float(burst), clock())
        self._clock = clock
        self._sleep = sleep
        self._paused_until = 0.0
        self._channel_next: dict[str, float] = {}
        self._lock = asyncio.Lock()

    @property
    def rate(self) -> float:
        """The current rate, messages per second."""
        return self._bucket.rate

    async def acquire(self, channel: str | None = None) -> None:
        """Wait until one more message may start (to `channel`, at most one per second)."""
        async with self._lock:  # first come, first served
            while True:
                now = self._clock()
                wait = max(0.0, self._paused_until - now)
                if channel is not None:
                    wait = max(wait, self._channel_next.get(channel, 0.0) - now)
                if wait == 0.0:
                    wait = self._bucket.wait(now)
                    if wait == 0.0:
                        self._bucket.take()
                        if channel is not None:
                            self._channel_next[channel] = now + PER_CHANNEL_INTERVAL_S
                            self._forget_old_channels(now)
                        return
                await self._sleep(wait)

    def slow_down(self, retry_after: float | None = None) -> None:
        """A 429: cut the rate, and start nothing new before `retry_after` seconds if the
        platform says the whole workspace must wait (our caller decides)."""
        now = self._clock()
        bucket = self._bucket
        bucket.refill(now)
        bucket.rate = max(self._max_rate * FLOOR, bucket.rate * SLOWDOWN)
        bucket.tokens = min(bucket.tokens, 0.0)
        if retry_after is not None:
            self._paused_until = max(self._paused_until, now + retry_after)

    def succeeded(self) -> None:
        """A send went through: climb back towards the configured rate."""
        bucket = self._bucket
        bucket.refill(self._clock())
        bucket.rate = min(self._max_rate, bucket.rate + self._max_rate * RECOVERY_PER_SEND)

    def _forget_old_channels(self, now: float) -> None:
        if len(self._channel_next) > 10_000:
            self._channel_next = {c: t for c, t in self._channel_next.items() if t > now}
