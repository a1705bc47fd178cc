"""The pacer, on a fake clock: bursts, the configured rate, one per channel, 429s."""

from __future__ import annotations

import pytest

from trustbot.delivery.pacing import FLOOR, SLOWDOWN, Pacer


class FakeTime:
    """A monotonic clock that moves only when the pacer sleeps."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def _pacer(time: FakeTime, rate: float, burst: int) -> Pacer:
    return Pacer(rate=rate, burst=burst, clock=time, sleep=time.sleep)


async def _starts(pacer: Pacer, time: FakeTime, count: int, channel: str | None = None) -> list:
    """When each of `count` messages may start, in seconds from the first call."""
    begin = time.now
    starts = []
    for _ in range(count):
        await pacer.acquire(channel)
        starts.append(round(time.now - begin, 6))
    return starts


async def test_a_burst_at_once_then_the_configured_rate() -> None:
    time = FakeTime()
    pacer = _pacer(time, rate=10, burst=3)

    assert await _starts(pacer, time, 7) == [0, 0, 0, 0.1, 0.2, 0.3, 0.4]


async def test_one_message_per_second_to_the_same_channel() -> None:
    time = FakeTime()
    pacer = _pacer(time, rate=100, burst=10)

    assert await _starts(pacer, time, 1, "D1") == [0]
    assert await _starts(pacer, time, 3, "D2") == [0, 1, 2]
    assert await _starts(pacer, time, 1, "D1") == [0]  # D1's second comes 2 s after its first


async def test_a_429_cuts_the_rate_and_stops_the_burst() -> None:
    time = FakeTime()
    pacer = _pacer(time, rate=20, burst=5)

    pacer.slow_down()

    assert pacer.rate == pytest.approx(20 * SLOWDOWN)
    # no burst after a 429: the next message waits for a token at the lower rate
    assert await _starts(pacer, time, 3) == pytest.approx([1 / 18, 2 / 18, 3 / 18], abs=1e-6)


async def test_retry_after_for_the_whole_app_pauses_every_message() -> None:
    time = FakeTime()
    pacer = _pacer(time, rate=20, burst=5)

    pacer.slow_down(retry_after=60)

    assert (await _starts(pacer, time, 2))[0] == pytest.approx(60)


async def test_successes_bring_the_rate_back_but_never_above_the_configured_one() -> None:
    pacer = _pacer(FakeTime(), rate=20, burst=5)
    for _ in range(100):
        pacer.slow_down()
    assert pacer.rate == pytest.approx(20 * FLOOR)  # never slower than the floor

    climbs = 0
    while pacer.rate < 20:
        pacer.succeeded()
        climbs += 1
    for _ in range(50):
        pacer.succeeded()

    assert pacer.rate == 20
    assert climbs < 200


async def test_stray_429s_cost_little_and_a_flood_of_them_slows_sending_down() -> None:
    """A 429 for one send in fifty (as a busy Slack may give) costs under a tenth of the
    configured rate; when every other send is refused, sending slows to well under half."""

    async def seconds_for(sends: int, refused_every: int) -> float:
        time = FakeTime()
        pacer = _pacer(time, rate=20, burst=1)
        begin = time.now
        for number in range(1, sends + 1):
            await pacer.acquire()
            if number % refused_every == 0:
                pacer.slow_down()
            else:
                pacer.succeeded()
        return time.now - begin

    ideal = 999 / 20  # 1000 starts at 20 per second, the first at once
    assert await seconds_for(1000, refused_every=50) < 1.1 * ideal
    assert await seconds_for(1000, refused_every=2) > 2.5 * ideal
