"""TokenBucket on a fake clock: pacing, bursts, debt, settling."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmagentos.llm.ratelimit import TokenBucket


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def bucket(per_minute: float, **kw: float) -> tuple[TokenBucket, FakeTime]:
    t = FakeTime()
    return TokenBucket(per_minute, clock=t.clock, sleep=t.sleep, **kw), t


async def test_burst_then_paced() -> None:
    b, t = bucket(600)  # 10/s, capacity 10
    for _ in range(10):
        await b.acquire()
    assert t.now == 0
    await b.acquire()
    assert t.now == pytest.approx(0.1)


async def test_oversized_request_waits_for_full_bucket_then_goes_into_debt() -> None:
    b, t = bucket(600)
    await b.acquire(5)
    await b.acquire(30)  # more than capacity: waits to refill to 10, then owes 20
    assert t.now == pytest.approx(0.5)
    assert b.level == pytest.approx(-20)
    await b.acquire(1)
    assert t.now == pytest.approx(0.5 + 2.1)


async def test_settle_refunds_and_charges() -> None:
    b, _ = bucket(60, capacity=100)
    await b.acquire(50)
    b.settle(-20)  # over-estimated
    assert b.level == pytest.approx(70)
    b.settle(200)
    assert b.level == pytest.approx(-130)
    b.settle(-1000)
    assert b.level == pytest.approx(100)  # never above capacity


def test_rejects_non_positive_rate() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=25), min_size=1, max_size=30))
def test_long_run_rate_is_never_exceeded(amounts: list[int]) -> None:
    b, t = bucket(600)  # 10 units a second, burst 10

    async def run() -> None:
        for amount in amounts:
            await b.acquire(amount)

    asyncio.run(run())
    # Everything taken beyond the initial burst must have been earned at 10 a second.
    assert sum(amounts) - 10 <= t.now * 10 + max(amounts) + 1e-6
