"""Kernel events: what the CLI, the server and the dashboard watch."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from llmagentos.records import record


@record
class KernelEvent:
    """Something happened: a process changed state, a syscall finished, a log line."""

    type: str  # "state" | "syscall" | "log" | "spawn"
    pid: int
    ts: float
    data: dict[str, Any]


@record
class SyscallTrace:
    """One finished system call, as observers (metrics, tracing) see it."""

    pid: int
    program: str
    name: str  # the syscall record's type, e.g. "LLMCall"
    kind: str  # its kind, e.g. "llm"
    seq: int
    started_at: float  # wall clock
    duration_s: float
    ok: bool
    error_type: str | None = None
    replayed: bool = False


class EventBus:
    """Fan-out of kernel events to subscribers; costs nothing when nobody listens."""

    def __init__(self, history: int = 1000) -> None:
        self._subs: list[asyncio.Queue[KernelEvent]] = []
        self.recent: deque[KernelEvent] = deque(maxlen=history)

    @property
    def active(self) -> bool:
        return bool(self._subs)

    def emit(self, type: str, pid: int, **data: Any) -> None:
        event = KernelEvent(type=type, pid=pid, ts=time.time(), data=data)
        self.recent.append(event)
        for q in self._subs:
            if q.qsize() < 10_000:  # a slow consumer loses events, never stalls the kernel
                q.put_nowait(event)

    def subscribe(self) -> asyncio.Queue[KernelEvent]:
        q: asyncio.Queue[KernelEvent] = asyncio.Queue()
        self._subs.append(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[KernelEvent]) -> None:
        if q in self._subs:
            self._subs.remove(q)
