"""What the server remembers about recent kernel activity, for the dashboard.

`Telemetry.observe` is a kernel syscall observer: it keeps the last syscalls (the live
timeline). `sample_tokens` runs once per `ServerConfig.sample_interval_s` and appends a
point of cumulative token usage (the plot); `sample_batches`, ten times a second, reads the
model calls in flight per resource (the batch sizes). Rings are bounded, so a server that
runs for weeks uses constant memory.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING

from llmagentos.kernel.events import SyscallTrace
from llmagentos.records import record

if TYPE_CHECKING:
    from llmagentos.kernel.kernel import Kernel


@record
class TokenSample:
    """Cumulative tokens over all processes at one moment."""

    ts: float
    tokens_in: int
    tokens_out: int


class Telemetry:
    """Rings of recent syscalls and token samples; see the module docstring."""

    def __init__(self, kernel: Kernel, *, syscalls: int = 2000, points: int = 600) -> None:
        self.kernel = kernel
        self.recent: deque[SyscallTrace] = deque(maxlen=syscalls)
        self.tokens: deque[TokenSample] = deque(maxlen=points)
        self.batch_sizes: dict[str, int] = {}
        self.peak_batch: dict[str, int] = {}
        self.errors = 0

    def observe(self, trace: SyscallTrace) -> None:
        self.recent.append(trace)
        if not trace.ok:
            self.errors += 1

    def recent_for(self, pid: int | None = None, limit: int = 100) -> list[SyscallTrace]:
        """The latest `limit` syscalls, oldest first, optionally of one process."""
        out: list[SyscallTrace] = []
        for trace in reversed(self.recent):
            if pid is None or trace.pid == pid:
                out.append(trace)
                if len(out) >= limit:
                    break
        out.reverse()
        return out

    def sample_tokens(self) -> TokenSample:
        """Append one point of cumulative token usage (O(processes))."""
        tin = tout = 0
        for info in self.kernel.ps():
            tin += info.usage.tokens_in
            tout += info.usage.tokens_out
        point = TokenSample(time.time(), tin, tout)
        self.tokens.append(point)
        return point

    def sample_batches(self) -> dict[str, int]:
        """Model calls in flight per model resource now (cheap: sampled often)."""
        running = self.kernel.scheduler.in_flight()
        self.batch_sizes = {r: n for r, n in running.items() if r.startswith("llm:")}
        for resource, n in self.batch_sizes.items():
            self.peak_batch[resource] = max(self.peak_batch.get(resource, 0), n)
        return self.batch_sizes
