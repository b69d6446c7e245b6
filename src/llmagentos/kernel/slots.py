"""Slots on resources: calls that need a model backend or a tool queue here, through the
scheduler, unless their resource is free and uncontended."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

from llmagentos.errors import QuotaExceeded
from llmagentos.kernel.process import Process
from llmagentos.kernel.schedrecords import Completion, QueuedCall
from llmagentos.kernel.scheduler import Scheduler


class Slots:
    """Mixin of `Kernel`: acquiring and releasing resource slots."""

    scheduler: Scheduler
    _waiters: dict[int, asyncio.Future[float]]
    _call_ids: Iterator[int]
    _loop: asyncio.AbstractEventLoop | None

    def try_acquire(self, proc: Process, resource: str, est_tokens: int = 0) -> int | None:
        """Take a slot on `resource` now if it is uncontended; the call id, or None."""
        cid = next(self._call_ids)
        call = QueuedCall(cid, proc.pid, proc.program, resource, proc.priority, 0.0, est_tokens)
        return cid if self.scheduler.try_start(call) else None

    async def acquire(self, proc: Process, resource: str, est_tokens: int = 0) -> int:
        """Get a slot on `resource`, queueing when it is contended; returns the call id.

        An uncontended call starts at once (`Scheduler.try_start`); otherwise it queues and
        the scheduler's policy decides when it starts. Time spent queued is accounted.
        """
        cid = self.try_acquire(proc, resource, est_tokens)
        if cid is not None:
            return cid
        cid = next(self._call_ids)
        now = time.monotonic()
        call = QueuedCall(cid, proc.pid, proc.program, resource, proc.priority, now, est_tokens)
        assert self._loop is not None
        fut: asyncio.Future[float] = self._loop.create_future()
        self._waiters[cid] = fut
        self.scheduler.add(call)
        self._schedule()
        try:
            started = await fut
        except asyncio.CancelledError:
            if self._waiters.pop(cid, None) is not None:
                self.scheduler.remove(cid)
            else:
                self.release(cid, proc, resource, 0, 0.0)
            raise
        proc.queue_time_s += started - now
        return cid

    def release(self, cid: int, proc: Process, resource: str, tokens: int, elapsed: float) -> None:
        """Give a slot back and let the scheduler start whatever waited for it."""
        self.scheduler.update_from_output(
            [Completion(cid, proc.pid, proc.program, resource, tokens, elapsed)]
        )
        if self._waiters:
            self._schedule()

    def _schedule(self) -> None:
        decision = self.scheduler.schedule(time.monotonic())
        now = time.monotonic()
        for qc in decision.dispatch:
            fut = self._waiters.pop(qc.call_id, None)
            if fut is not None and not fut.done():
                fut.set_result(now)
        for rej in decision.rejected:
            fut = self._waiters.pop(rej.call_id, None)
            if fut is not None and not fut.done():
                fut.set_exception(QuotaExceeded(rej.reason, pid=rej.pid))

    # -- recovery and control --------------------------------------------------------------
