"""`ReadWriteLock`: lets ordinary tools run together and exclusive tools run alone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class ReadWriteLock:
    """An asyncio readers-writer lock that prefers writers.

    Any number of readers share it; a writer holds it alone. Once a writer is waiting,
    new readers queue behind it, so a steady stream of readers cannot starve writers.
    Releasing is synchronous, so it is safe from done-callbacks and `finally` blocks of
    cancelled tasks. Not reentrant: a writer that waits for a reader deadlocks.
    """

    def __init__(self) -> None:
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0
        self._waiters: set[asyncio.Future[None]] = set()

    @property
    def readers(self) -> int:
        """How many readers hold the lock now."""
        return self._readers

    @property
    def writer(self) -> bool:
        """Whether a writer holds the lock now."""
        return self._writer

    async def acquire_read(self) -> None:
        """Wait until no writer holds or waits for the lock, then share it."""
        await self._wait_until(lambda: not self._writer and self._writers_waiting == 0)
        self._readers += 1

    def release_read(self) -> None:
        if self._readers <= 0:
            raise RuntimeError("release_read without acquire_read")
        self._readers -= 1
        self._wake()

    async def acquire_write(self) -> None:
        """Wait until nobody holds the lock, then hold it alone."""
        self._writers_waiting += 1
        try:
            await self._wait_until(lambda: not self._writer and self._readers == 0)
        finally:
            self._writers_waiting -= 1
            # Readers held back by this writer must look again, whether it won or gave up.
            self._wake()
        self._writer = True

    def release_write(self) -> None:
        if not self._writer:
            raise RuntimeError("release_write without acquire_write")
        self._writer = False
        self._wake()

    async def _wait_until(self, ready: Callable[[], bool]) -> None:
        loop = asyncio.get_running_loop()
        while not ready():
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.add(waiter)
            try:
                await waiter
            finally:
                self._waiters.discard(waiter)

    def _wake(self) -> None:
        # Every waiter re-checks its own condition; the lock is small, the crowd is too.
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
