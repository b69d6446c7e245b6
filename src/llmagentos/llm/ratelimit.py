"""Token buckets that pace calls to a rate-limited model server (requests or tokens per minute)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class TokenBucket:
    """Refills at `per_minute / 60` units a second up to `capacity`; `acquire` waits for units.

    The default capacity is one second's worth: providers enforce "per minute" limits over
    shorter windows, so a full minute's burst up front would be refused anyway. A request
    bigger than the capacity waits for a full bucket and then drives it negative (debt that
    later callers wait out), so large requests are slowed down rather than refused.
    `settle` corrects an estimate once the real cost is known.
    """

    def __init__(
        self,
        per_minute: float,
        *,
        capacity: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.rate = per_minute / 60.0
        self.capacity = float(capacity) if capacity is not None else max(1.0, self.rate)
        self._clock = clock
        self._sleep = sleep
        self._level = self.capacity
        self._stamp = clock()
        self._lock = asyncio.Lock()  # waiters are served in arrival order

    @property
    def level(self) -> float:
        """Units available now (negative while in debt)."""
        self._refill()
        return self._level

    def _refill(self) -> None:
        now = self._clock()
        self._level = min(self.capacity, self._level + (now - self._stamp) * self.rate)
        self._stamp = now

    def wait_time(self, amount: float) -> float:
        """Seconds until `amount` units could be taken (0 when they can be taken now)."""
        self._refill()
        need = min(amount, self.capacity)
        delay = (need - self._level) / self.rate
        # Float rounding can leave a deficit of ~1e-15 units; waiting for it would spin.
        return delay if delay > 1e-6 else 0.0

    async def acquire(self, amount: float = 1.0) -> None:
        """Wait until `amount` units (or a full bucket, if more) are available; take them."""
        async with self._lock:
            while (delay := self.wait_time(amount)) > 0:
                await self._sleep(delay)
            self._level -= amount

    def settle(self, extra: float) -> None:
        """Charge `extra` more units (negative refunds) once a call's real cost is known."""
        self._refill()
        self._level = min(self.capacity, self._level - extra)
