"""The kernel's scheduler: a pure step that decides which queued calls start now.

Modelled on vLLM v1: `schedule(now)` returns a `SchedulerDecision`, and
`update_from_output(completions)` folds finished calls back in. Nothing here does I/O,
reads a clock or awaits, so tests drive it with plain records.

How it is laid out: queued calls sit in *lanes*, one per (resource, flow), where the
policy names the flow (one flow for FIFO and priority, a pid for round-robin, a program
for least attained service). A lane is a heap in the policy's within-flow order; each
resource keeps a heap of its lanes keyed by flow key plus head call. `schedule` merges
the heads of resources that have free slots, so a full resource costs nothing and blocks
nobody, and a step costs O((dispatched + resources) log n), not O(n) (calls waiting on
their pid's budget add their own count: they are stepped over one by one).

Measured (CPython 3.11, a shared 2-core VM; 10,000 queued calls from 1,000 pids in 100
programs over 20 resources of 5 slots): `add` 4-8 µs; a `schedule` that starts 100 calls
about 1 ms (LAS 1.3-2.7 ms); one with every resource full about 5 µs; one completion plus
`schedule` about 20 µs (LAS 70-130 µs, as settling a program refiles its lanes). The
per-event cost stays flat from 1,000 to 100,000 queued calls.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING

from llmagentos.kernel.schedrecords import (
    Completion,
    Key,
    ProgramStats,
    QueuedCall,
    Rejection,
    ResourceStats,
    SchedulerDecision,
    SchedulerStats,
)

if TYPE_CHECKING:
    from llmagentos.kernel.policies import Policy

__all__ = [
    "Completion",
    "Key",
    "ProgramStats",
    "QueuedCall",
    "Rejection",
    "ResourceStats",
    "Scheduler",
    "SchedulerDecision",
    "SchedulerStats",
]

_Entry = tuple[Key, int, QueuedCall]  # (within-flow key, seq, call); identity marks it live


class _Resource:
    """A resource's heap of lanes and its slot accounting."""

    __slots__ = ("completed", "dispatched", "heap", "lanes", "limit", "name", "queued", "running")

    def __init__(self, name: str, limit: int | None) -> None:
        self.name = name
        self.limit = limit
        self.heap: list[tuple[Key, int, _Lane]] = []
        self.lanes: dict[Hashable, _Lane] = {}
        self.queued = self.running = self.dispatched = self.completed = 0

    def free(self) -> int:
        return 1 << 62 if self.limit is None else self.limit - self.running


class _Lane:
    """The queued calls of one flow on one resource, best first."""

    __slots__ = ("flow", "heap", "live", "mark", "res")

    def __init__(self, res: _Resource, flow: Hashable) -> None:
        self.res = res
        self.flow = flow
        self.heap: list[_Entry] = []
        self.live = 0
        self.mark = -1  # seq of this lane's current entry in res.heap; older entries are stale


class _Pid:
    """A pid's token budget and the calls it has queued and running."""

    __slots__ = ("budget", "queued", "reserved", "running", "used")

    def __init__(self) -> None:
        self.budget: int | None = None
        self.used = self.reserved = self.running = 0
        self.queued: set[int] = set()


class _Program:
    """A program's attained service and load."""

    __slots__ = ("calls", "queued", "running", "tokens")

    def __init__(self) -> None:
        self.tokens = self.calls = self.queued = self.running = 0


def _est(call: QueuedCall) -> int:
    return max(call.est_tokens, 0)


def _check_limit(limit: int | None) -> None:
    if limit is not None and limit < 0:
        raise ValueError(f"a concurrency limit must be >= 0 or None, not {limit}")


class Scheduler:
    """Picks which queued calls start, under per-resource limits, token budgets and a policy.

    `limits` caps concurrent calls per resource; resources not named get `default_limit`
    (None: unlimited). A pid's budget, once set, is the tokens it may still use: a call
    waits while in-flight reservations leave too little, and is rejected once it could
    never fit. `remove` cancels only queued calls; a running call is finished by its
    `Completion`.
    """

    def __init__(
        self,
        policy: Policy,
        limits: Mapping[str, int] | None = None,
        default_limit: int | None = None,
    ) -> None:
        _check_limit(default_limit)
        self._policy = policy
        self._default_limit = default_limit
        self._limits: dict[str, int | None] = {}
        self._res: dict[str, _Resource] = {}
        self._queued: dict[int, _Entry] = {}
        self._running: dict[int, QueuedCall] = {}
        self._flow_lanes: dict[Hashable, dict[str, _Lane]] = {}
        self._fkeys: dict[Hashable, Key] = {}  # flow keys as of the last hook, per queued flow
        self._pids: dict[int, _Pid] = {}
        self._programs: dict[str, _Program] = {}
        self._pending: list[Rejection] = []
        self._rejected = 0
        self._seq = itertools.count()
        self._now = 0.0
        for resource, limit in (limits or {}).items():
            self.set_limit(resource, limit)

    # -- public surface -------------------------------------------------------------------

    def set_limit(self, resource: str, limit: int | None) -> None:
        """Cap concurrent calls on `resource` (None: unlimited; 0: paused)."""
        _check_limit(limit)
        self._limits[resource] = limit
        if resource in self._res:
            self._res[resource].limit = limit

    def add(self, call: QueuedCall) -> None:
        """Queue a call; one that can never fit its pid's budget is rejected at the next step."""
        if call.call_id in self._queued or call.call_id in self._running:
            self._reject(call, f"duplicate call_id {call.call_id}")
            return
        pid = self._pids.setdefault(call.pid, _Pid())
        reason = self._never_fits(pid, call)
        if reason is not None:
            self._reject(call, reason)
            self._tidy_pid(call.pid)
            return
        self._policy.on_enqueue(call)
        entry: _Entry = (self._policy.call_key(call), next(self._seq), call)
        self._queued[call.call_id] = entry
        pid.queued.add(call.call_id)
        self._resource(call.resource).queued += 1
        self._programs.setdefault(call.program, _Program()).queued += 1
        self._put(entry)

    def try_start(self, call: QueuedCall) -> bool:
        """Start `call` at once if its resource has a free slot and nothing queued.

        The uncontended fast path: with no queued rival there is no order to decide, so the
        call starts exactly as `add` followed by `schedule` would start it, minus the queue.
        False means "use `add`": the caller queues it and the policy decides.
        """
        if call.call_id in self._queued or call.call_id in self._running:
            return False
        res = self._res.get(call.resource) or self._resource(call.resource)
        if res.queued or res.free() <= 0:
            return False
        pid = self._pids.get(call.pid)
        if pid is None:
            pid = self._pids[call.pid] = _Pid()
        elif pid.budget is not None and _est(call) > pid.budget - pid.used - pid.reserved:
            return False
        self._policy.on_enqueue(call)
        program = self._programs.get(call.program)
        if program is None:
            program = self._programs[call.program] = _Program()
        self._running[call.call_id] = call
        res.running += 1
        res.dispatched += 1
        program.running += 1
        pid.running += 1
        pid.reserved += _est(call)
        self._policy.on_dispatch(call)
        self._sync(self._policy.flow(call))
        return True

    def remove(self, call_id: int) -> QueuedCall | None:
        """Cancel a queued call; None if it is not queued (unknown, or already started)."""
        entry = self._queued.get(call_id)
        if entry is None:
            return None
        call = entry[2]
        self._unqueue(call)
        flow = self._policy.flow(call)
        lane = self._res[call.resource].lanes[flow]
        lane.live -= 1
        if lane.live == 0:
            self._drop_lane(lane)
        elif len(lane.heap) > 2 * lane.live + 16:
            # Removed calls stay in the heap until they surface; bound that garbage.
            lane.heap[:] = [e for e in lane.heap if self._queued.get(e[2].call_id) is e]
            heapq.heapify(lane.heap)
        self._policy.on_leave(call)
        self._sync(flow)
        self._tidy_pid(call.pid)
        return call

    def set_budget(self, pid: int, tokens_left: int | None) -> None:
        """Set the tokens `pid` may still use from now on, beyond its in-flight reservations."""
        state = self._pids.setdefault(pid, _Pid())
        state.budget = tokens_left
        state.used = 0
        self._recheck(state)
        self._tidy_pid(pid)

    def schedule(self, now: float) -> SchedulerDecision:
        """Start every call the limits, budgets and policy order allow, best first.

        `now` only dates `stats`: the built-in policies rank by arrival, not by the clock.
        """
        self._now = now
        started: list[QueuedCall] = []
        aside: list[_Entry] = []  # calls waiting for reservations to settle
        frontier: list[tuple[Key, int, _Resource]] = []
        for res in self._res.values():
            self._offer(res, frontier)
        while frontier:
            key, _, res = heapq.heappop(frontier)
            lane = self._top(res)
            if lane is None or res.free() <= 0:
                continue
            if res.heap[0][0] != key:
                # A policy hook raised this resource's head key since it was offered.
                heapq.heappush(frontier, (res.heap[0][0], next(self._seq), res))
                continue
            entry = self._take(lane)
            call = entry[2]
            pid = self._pids[call.pid]
            if pid.budget is not None and _est(call) > pid.budget - pid.used - pid.reserved:
                aside.append(entry)
                if lane.live:
                    self._push_lane(lane)
            else:
                self._start(call, pid, res)
                started.append(call)
                if not self._sync(lane.flow) and lane.live:
                    self._push_lane(lane)
            self._offer(res, frontier)
        for entry in aside:
            self._put(entry)
        rejected = tuple(self._pending)
        self._pending.clear()
        return SchedulerDecision(tuple(started), rejected, len(self._queued))

    def update_from_output(self, completions: Sequence[Completion]) -> None:
        """Free the slots of finished calls, settle their reservations, credit service."""
        for done in completions:
            call = self._running.pop(done.call_id, None)
            if call is None:
                continue  # a late or repeated report: nothing is held for it
            tokens = max(done.tokens, 0)
            res = self._res[call.resource]
            res.running -= 1
            res.completed += 1
            program = self._programs[call.program]
            program.running -= 1
            program.tokens += tokens
            program.calls += 1
            pid = self._pids[call.pid]
            pid.running -= 1
            pid.reserved -= _est(call)
            pid.used += tokens
            self._policy.on_complete(call, tokens)
            self._sync(self._policy.flow(call))
            self._recheck(pid)
            self._tidy_pid(call.pid)

    def queue_depths(self) -> dict[str, int]:
        """Queued calls per resource (resources with none are left out)."""
        return {name: r.queued for name, r in self._res.items() if r.queued}

    def in_flight(self) -> dict[str, int]:
        """Running calls per resource (resources with none are left out)."""
        return {name: r.running for name, r in self._res.items() if r.running}

    def stats(self) -> SchedulerStats:
        """A snapshot for dashboards; O(queued calls), so not for the hot path."""
        oldest: dict[str, float] = {}
        for _, _, call in self._queued.values():
            waited = self._now - call.enqueued_at
            oldest[call.resource] = max(oldest.get(call.resource, 0.0), waited)
        resources = tuple(
            ResourceStats(
                n, r.limit, r.queued, r.running, r.dispatched, r.completed, oldest.get(n, 0.0)
            )
            for n, r in sorted(self._res.items())
        )
        programs = tuple(
            ProgramStats(n, p.tokens, p.calls, p.queued, p.running)
            for n, p in sorted(self._programs.items())
        )
        return SchedulerStats(
            type(self._policy).__name__,
            self._now,
            len(self._queued),
            len(self._running),
            self._rejected,
            resources,
            programs,
        )

    # -- lanes ------------------------------------------------------------------------------

    def _resource(self, name: str) -> _Resource:
        res = self._res.get(name)
        if res is None:
            limit = self._limits.get(name, self._default_limit)
            res = self._res[name] = _Resource(name, limit)
        return res

    def _put(self, entry: _Entry) -> None:
        """File a live entry into its lane and keep the lane's place in its resource heap."""
        call = entry[2]
        flow = self._policy.flow(call)
        res = self._res[call.resource]
        lane = res.lanes.get(flow)
        if lane is None:
            lane = res.lanes[flow] = _Lane(res, flow)
            self._flow_lanes.setdefault(flow, {})[res.name] = lane
        heapq.heappush(lane.heap, entry)
        lane.live += 1
        if not self._sync(flow) and self._head(lane) is entry:
            self._push_lane(lane)

    def _head(self, lane: _Lane) -> _Entry:
        """The lane's best live entry, dropping removed ones above it (needs lane.live)."""
        heap = lane.heap
        while self._queued.get(heap[0][2].call_id) is not heap[0]:
            heapq.heappop(heap)
        return heap[0]

    def _take(self, lane: _Lane) -> _Entry:
        entry = self._head(lane)
        heapq.heappop(lane.heap)
        lane.live -= 1
        if lane.live == 0:
            self._drop_lane(lane)
        return entry

    def _drop_lane(self, lane: _Lane) -> None:
        lane.mark = -1
        lane.heap.clear()
        del lane.res.lanes[lane.flow]
        lanes = self._flow_lanes[lane.flow]
        del lanes[lane.res.name]
        if not lanes:
            del self._flow_lanes[lane.flow]
            self._fkeys.pop(lane.flow, None)

    def _push_lane(self, lane: _Lane) -> None:
        """(Re)file a lane in its resource heap under its current key; older entries go stale."""
        res = lane.res
        lane.mark = seq = next(self._seq)
        heapq.heappush(res.heap, (self._fkeys[lane.flow] + self._head(lane)[0], seq, lane))
        if len(res.heap) > 2 * len(res.lanes) + 64:
            res.heap[:] = [e for e in res.heap if e[1] == e[2].mark]  # in place: `_top` holds it
            heapq.heapify(res.heap)

    def _sync(self, flow: Hashable) -> bool:
        """Re-read a flow's key after a policy hook; True if its lanes were all refiled."""
        lanes = self._flow_lanes.get(flow)
        if not lanes:
            return False
        key = self._policy.flow_key(flow)
        old = self._fkeys.get(flow)
        if old == key:
            return False
        self._fkeys[flow] = key
        if old is not None and key > old:
            # A raised key may wait: `_top` refiles each lane when it surfaces, so a flow
            # spread over many resources costs nothing where those resources are full.
            return False
        for lane in lanes.values():
            self._push_lane(lane)
        return True

    def _top(self, res: _Resource) -> _Lane | None:
        """The resource's best lane, with res.heap[0] its current entry; None if empty."""
        heap = res.heap
        while heap:
            key, seq, lane = heap[0]
            if seq != lane.mark:
                heapq.heappop(heap)
            elif self._fkeys[lane.flow] + self._head(lane)[0] != key:
                self._push_lane(lane)  # its head left or its flow key rose: refile it
            else:
                return lane
        return None

    def _offer(self, res: _Resource, frontier: list[tuple[Key, int, _Resource]]) -> None:
        if res.queued and res.free() > 0 and self._top(res) is not None:
            heapq.heappush(frontier, (res.heap[0][0], next(self._seq), res))

    # -- accounting -------------------------------------------------------------------------

    def _start(self, call: QueuedCall, pid: _Pid, res: _Resource) -> None:
        self._unqueue(call)
        self._running[call.call_id] = call
        res.running += 1
        res.dispatched += 1
        self._programs[call.program].running += 1
        pid.running += 1
        pid.reserved += _est(call)
        self._policy.on_dispatch(call)

    def _unqueue(self, call: QueuedCall) -> None:
        del self._queued[call.call_id]
        self._pids[call.pid].queued.discard(call.call_id)
        self._res[call.resource].queued -= 1
        self._programs[call.program].queued -= 1

    def _never_fits(self, pid: _Pid, call: QueuedCall) -> str | None:
        if pid.budget is None or _est(call) <= pid.budget - pid.used:
            return None
        return f"token budget: needs {_est(call)}, {pid.budget - pid.used} left"

    def _recheck(self, pid: _Pid) -> None:
        """Reject the pid's queued calls that its budget can no longer ever fit."""
        if pid.budget is None:
            return
        for call_id in sorted(pid.queued):
            call = self._queued[call_id][2]
            reason = self._never_fits(pid, call)
            if reason is not None:
                self.remove(call_id)
                self._reject(call, reason)

    def _reject(self, call: QueuedCall, reason: str) -> None:
        self._pending.append(Rejection(call.call_id, call.pid, reason))
        self._rejected += 1

    def _tidy_pid(self, pid: int) -> None:
        state = self._pids.get(pid)
        if state is not None and state.budget is None and not state.queued and not state.running:
            del self._pids[pid]
