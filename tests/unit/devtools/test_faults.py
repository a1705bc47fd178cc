"""The fault injector, call log and wait both emulators share."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from trustbot.devtools.faults import CallLog, Fault, FaultInjector, wait_until


def test_scripted_faults_by_rank_then_in_order_and_only_for_their_key() -> None:
    faults = FaultInjector((500, 502))
    faults.script("chat.postMessage", Fault(503), rank=3)
    faults.script("chat.postMessage", Fault(200, error="a"), 2, rank=1)
    faults.script("users.info", Fault(429, retry_after=2))

    assert faults.scripted("auth.test") is None
    assert faults.scripted("chat.postMessage", max_rank=0) is None
    assert [faults.scripted("chat.postMessage") for _ in range(4)] == [
        Fault(200, error="a"),
        Fault(200, error="a"),
        Fault(503),
        None,
    ]
    assert faults.scripted("users.info") == Fault(429, retry_after=2)
    assert faults.scripted("users.info") is None


def test_a_fault_for_any_key_meets_the_next_call_whatever_it_is() -> None:
    faults = FaultInjector((500,))
    faults.script(None, Fault(404), 2)
    faults.script("PUT", Fault(412))
    assert faults.scripted("POST") == Fault(404)
    assert faults.scripted("PUT") == Fault(404)
    assert faults.scripted("PUT") == Fault(412)
    assert faults.scripted("GET") is None
    faults.script("GET", Fault(500), times=0)  # nothing scripted
    assert faults.scripted("GET") is None
    with pytest.raises(ValueError, match="negative"):
        faults.script("GET", Fault(500), times=-1)


def test_random_faults_are_seeded_cycle_the_5xx_and_turn_off() -> None:
    def draws(seed: int) -> list[Fault | None]:
        faults = FaultInjector((500, 502, 504))
        faults.inject_random(None, rate_429=0.3, rate_5xx=0.3, seed=seed, retry_after=4)
        return [faults.drawn("POST") for _ in range(200)]

    first = draws(11)
    assert first == draws(11)
    statuses = [f.status for f in first if f is not None]
    assert 429 in statuses
    assert None in first
    assert [s for s in statuses if s != 429][:3] == [500, 502, 504]
    assert {f.retry_after for f in first if f is not None and f.status == 429} == {4}

    faults = FaultInjector((500,))
    faults.inject_random("a", rate_429=1.0, rate_5xx=0.0, seed=1, retry_after=1)
    assert faults.drawn("b") is None  # another key
    assert faults.drawn("a") == Fault(429, retry_after=1)
    faults.inject_random("a", rate_429=0.0, rate_5xx=0.0, seed=None, retry_after=1)
    assert faults.drawn("a") is None
    with pytest.raises(ValueError, match="probabilities"):
        faults.inject_random("a", rate_429=0.6, rate_5xx=0.6, seed=None, retry_after=1)


@dataclass
class _Call:
    method: str
    n: int


def test_the_call_log_keeps_order_an_index_and_counts() -> None:
    log: CallLog[_Call] = CallLog(lambda call: call.method)
    for n, method in enumerate(["a", "b", "a"]):
        log.record(_Call(method, n))
    assert [c.n for c in log.calls] == [0, 1, 2]
    assert [c.n for c in log.to("a")] == [0, 2]
    assert log.to("c") == []
    assert log.counts == {"a": 2, "b": 1}


async def test_wait_until_returns_once_true_and_names_what_it_waited_for() -> None:
    seen: list[int] = []

    def three_looks() -> bool:
        seen.append(1)
        return len(seen) >= 3

    await wait_until(three_looks, 5.0, what=None, state=lambda: "")
    assert len(seen) == 3
    with pytest.raises(AssertionError, match=r"waiting for the sky; 2 calls"):
        await wait_until(lambda: False, 0.02, what="the sky", state=lambda: "2 calls")
