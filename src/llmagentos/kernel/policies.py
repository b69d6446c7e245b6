"""Scheduling policies: the order in which queued calls start.

A policy ranks calls on two levels. `flow(call)` groups calls that share one place in
line (FIFO and priority: a single flow; round-robin: a pid; least attained service: a
program). `flow_key(flow)` ranks flows and may move as the policy's state changes;
`call_key(call)` ranks calls within a flow and never changes. Smaller keys start first;
the scheduler compares `flow_key + call_key` across all flows and resources.

The scheduler reports what happens through the `on_*` hooks and re-reads the key of that
call's flow after each one. So a hook may move only the key of its own call's flow, and
`on_dispatch` may only raise it (within one step the scheduler merges resources lazily,
which is exact only while keys do not fall).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Hashable
from typing import Any, Protocol

from llmagentos.kernel.scheduler import Key, QueuedCall


class Policy(Protocol):
    """Decides the order in which queued calls start; see the module docstring."""

    def flow(self, call: QueuedCall) -> Hashable: ...

    def flow_key(self, flow: Hashable) -> Key: ...

    def call_key(self, call: QueuedCall) -> Key: ...

    def on_enqueue(self, call: QueuedCall) -> None:
        """`call` was queued."""

    def on_leave(self, call: QueuedCall) -> None:
        """`call` left the queue without starting (removed or rejected)."""

    def on_dispatch(self, call: QueuedCall) -> None:
        """`call` started."""

    def on_complete(self, call: QueuedCall, tokens: int) -> None:
        """`call` finished having used `tokens` (>= 0)."""


class _SingleFlow:
    """Base of policies that rank calls by a fixed key alone and keep no state."""

    def flow(self, call: QueuedCall) -> Hashable:
        return None

    def flow_key(self, flow: Hashable) -> Key:
        return ()

    def on_enqueue(self, call: QueuedCall) -> None:
        pass

    def on_leave(self, call: QueuedCall) -> None:
        pass

    def on_dispatch(self, call: QueuedCall) -> None:
        pass

    def on_complete(self, call: QueuedCall, tokens: int) -> None:
        pass


class FIFO(_SingleFlow):
    """First come, first served: by `enqueued_at`, then `call_id`."""

    def call_key(self, call: QueuedCall) -> Key:
        return (call.enqueued_at, call.call_id)


class Priority(_SingleFlow):
    """Highest `priority` first, FIFO within a level.

    With `aging_s`, a call's effective priority grows by 1 for every `aging_s` seconds it
    has waited, so low-priority calls cannot wait forever. Aging is continuous, which
    makes the order independent of the clock: ranking by `enqueued_at / aging_s -
    priority` equals ranking by `priority + waited / aging_s` at any moment.
    """

    def __init__(self, aging_s: float | None = None) -> None:
        if aging_s is not None and aging_s <= 0:
            raise ValueError(f"aging_s must be > 0 or None, not {aging_s}")
        self.aging_s = aging_s

    def call_key(self, call: QueuedCall) -> Key:
        if self.aging_s is None:
            return (-call.priority, call.enqueued_at, call.call_id)
        return (call.enqueued_at / self.aging_s - call.priority, call.enqueued_at, call.call_id)


class RoundRobin:
    """Takes pids in turn; each keeps its place until it has used `quantum_tokens`.

    A pid joins the back of the rotation when it gets its first queued call, and leaves
    it when it has nothing queued or running. Use is counted from completions (a call
    that used no tokens counts as 1), so every pid ahead of a waiting one goes to the
    back after finitely many calls: no pid starves. Other pids still fill slots the pid
    in front cannot use.
    """

    def __init__(self, quantum_tokens: int = 256) -> None:
        if quantum_tokens < 1:
            raise ValueError(f"quantum_tokens must be >= 1, not {quantum_tokens}")
        self.quantum_tokens = quantum_tokens
        self._place: dict[Hashable, int] = {}  # pid -> ticket; smaller is nearer the front
        self._used: dict[Hashable, int] = {}  # tokens used since the pid last went back
        self._active: dict[Hashable, int] = {}  # queued + running calls per pid
        self._tickets = itertools.count()

    def flow(self, call: QueuedCall) -> Hashable:
        return call.pid

    def flow_key(self, flow: Hashable) -> Key:
        return (self._place[flow],)

    def call_key(self, call: QueuedCall) -> Key:
        return (call.enqueued_at, call.call_id)

    def on_enqueue(self, call: QueuedCall) -> None:
        if call.pid not in self._active:
            self._active[call.pid] = 0
            self._place[call.pid] = next(self._tickets)
            self._used[call.pid] = 0
        self._active[call.pid] += 1

    def on_leave(self, call: QueuedCall) -> None:
        self._release(call.pid)

    def on_dispatch(self, call: QueuedCall) -> None:
        pass

    def on_complete(self, call: QueuedCall, tokens: int) -> None:
        used = self._used[call.pid] + max(tokens, 1)
        if used >= self.quantum_tokens:
            self._place[call.pid] = next(self._tickets)
            used = 0
        self._used[call.pid] = used
        self._release(call.pid)

    def _release(self, pid: Hashable) -> None:
        self._active[pid] -= 1
        if not self._active[pid]:
            del self._active[pid], self._place[pid], self._used[pid]


class LeastAttainedService:
    """Program-level fair share: the program that has received least service goes first.

    Service is tokens used plus `call_charge` per call, so calls that use no tokens
    count too. A dispatched call is charged its `est_tokens` at once and settled to the
    tokens it really used when it completes, so a program with many queued calls cannot
    take every free slot in one step. Ties go by arrival. A program that becomes active
    starts no lower than the least service of the active programs (or, when none is
    active, of the last one to leave), so a newcomer cannot monopolise the machine.
    """

    def __init__(self, call_charge: int = 1) -> None:
        if call_charge < 1:
            raise ValueError(f"call_charge must be >= 1, not {call_charge}")
        self.call_charge = call_charge
        self._service: dict[Hashable, int] = {}
        self._active: dict[Hashable, int] = {}  # queued + running calls per program
        self._low: list[tuple[int, int, Hashable]] = []  # lazy min-heap of active service
        self._floor = 0
        self._seq = itertools.count()

    def attained(self, program: str) -> int:
        """The program's service so far, in-flight calls charged at their estimate."""
        return self._service.get(program, 0)

    def flow(self, call: QueuedCall) -> Hashable:
        return call.program

    def flow_key(self, flow: Hashable) -> Key:
        return (self._service[flow],)

    def call_key(self, call: QueuedCall) -> Key:
        return (call.enqueued_at, call.call_id)

    def on_enqueue(self, call: QueuedCall) -> None:
        program = call.program
        if program not in self._active:
            low = self._least_active()
            start = self._floor if low is None else low
            self._active[program] = 0
            self._set(program, max(self._service.get(program, start), start), activate=True)
        self._active[program] += 1

    def on_leave(self, call: QueuedCall) -> None:
        self._release(call.program)

    def on_dispatch(self, call: QueuedCall) -> None:
        charge = max(call.est_tokens, 0) + self.call_charge
        self._set(call.program, self._service[call.program] + charge)

    def on_complete(self, call: QueuedCall, tokens: int) -> None:
        settle = tokens - max(call.est_tokens, 0)
        self._set(call.program, self._service[call.program] + settle)
        self._release(call.program)

    def _set(self, program: Hashable, service: int, *, activate: bool = False) -> None:
        old = self._service.get(program)
        self._service[program] = service
        # The heap only has to hold a program's *lowest* value: a raised service is refiled
        # lazily by `_least_active`, so the common case (a charge) costs no heap push.
        if activate or old is None or service < old:
            heapq.heappush(self._low, (service, next(self._seq), program))
            if len(self._low) > 2 * len(self._active) + 64:
                self._low = [(self._service[p], next(self._seq), p) for p in self._active]
                heapq.heapify(self._low)

    def _least_active(self) -> int | None:
        heap = self._low
        while heap:
            service, _, program = heap[0]
            if program not in self._active:
                heapq.heappop(heap)
                continue
            current = self._service[program]
            if current == service:
                return service
            heapq.heapreplace(heap, (current, next(self._seq), program))
        return None

    def _release(self, program: Hashable) -> None:
        self._active[program] -= 1
        if not self._active[program]:
            del self._active[program]
            if not self._active:
                self._floor = max(self._floor, self._service[program])


_POLICIES: dict[str, Callable[..., Policy]] = {
    "fifo": FIFO,
    "rr": RoundRobin,
    "round_robin": RoundRobin,
    "priority": Priority,
    "las": LeastAttainedService,
    "least_attained_service": LeastAttainedService,
}


def make_policy(name: str, **kw: Any) -> Policy:
    """Build a policy by name: "fifo", "rr", "priority" or "las"; `kw` go to its class."""
    try:
        factory = _POLICIES[name.lower()]
    except KeyError:
        choices = ", ".join(sorted(_POLICIES))
        raise ValueError(f"unknown scheduling policy {name!r}; choose from {choices}") from None
    return factory(**kw)
