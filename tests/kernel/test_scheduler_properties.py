"""Scheduler invariants under random workloads (Hypothesis).

Each test keeps its own model of what should be queued, running and used, drives the
scheduler through schedule -> complete loops, and checks the scheduler against it.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from llmagentos.kernel.policies import make_policy
from llmagentos.kernel.scheduler import Completion, QueuedCall, Scheduler, SchedulerDecision

RESOURCES = ("llm:a", "llm:b", "tool:c")
POLICIES = ("fifo", "rr", "priority", "las")


def finish(call: QueuedCall, tokens: int) -> Completion:
    return Completion(call.call_id, call.pid, call.program, call.resource, tokens, 0.0)


@dataclass
class Model:
    """What the scheduler should hold: queued and running calls, limits, budgets."""

    limits: dict[str, int | None]
    budgets: dict[int, int | None] = field(default_factory=dict)
    queued: dict[int, QueuedCall] = field(default_factory=dict)
    running: dict[int, QueuedCall] = field(default_factory=dict)
    used: Counter[int] = field(default_factory=Counter)
    dispatched: set[int] = field(default_factory=set)
    rejecting: dict[int, str] = field(default_factory=dict)  # call id -> reason, reported next step

    def add(self, call: QueuedCall) -> None:
        self.queued[call.call_id] = call
        self.reject_hopeless(call.pid)

    def finish(self, call: QueuedCall, tokens: int) -> None:
        del self.running[call.call_id]
        self.used[call.pid] += tokens
        self.reject_hopeless(call.pid)

    def reject_hopeless(self, pid: int) -> None:
        """Calls that could not fit even with nothing in flight leave the queue at once."""
        budget = self.budgets.get(pid)
        for call in list(self.queued.values()):
            left = None if budget is None else budget - self.used[pid]
            if left is not None and call.pid == pid and call.est_tokens > left:
                del self.queued[call.call_id]
                self.rejecting[call.call_id] = f"token budget: needs {call.est_tokens}, {left} left"

    def reserved(self, pid: int) -> int:
        return sum(c.est_tokens for c in self.running.values() if c.pid == pid)

    def left_now(self, pid: int) -> float:
        budget = self.budgets.get(pid)
        if budget is None:
            return float("inf")
        return budget - self.used[pid] - self.reserved(pid)

    def free(self, resource: str) -> float:
        limit = self.limits[resource]
        running = sum(1 for c in self.running.values() if c.resource == resource)
        return float("inf") if limit is None else limit - running

    def apply(self, decision: SchedulerDecision) -> None:
        """Check a decision against the limits and budgets, then fold it in."""
        assert sorted(r.call_id for r in decision.rejected) == sorted(self.rejecting)
        for rej in decision.rejected:
            assert rej.reason == self.rejecting.pop(rej.call_id)
        for call in decision.dispatch:
            assert call.call_id in self.queued and call.call_id not in self.dispatched
            assert self.free(call.resource) >= 1, "started a call on a full resource"
            assert call.est_tokens <= self.left_now(call.pid), "reservation over budget"
            del self.queued[call.call_id]
            self.running[call.call_id] = call
            self.dispatched.add(call.call_id)
        assert decision.waiting == len(self.queued)

    def check_work_conserving(self) -> None:
        """Every call left queued on a resource with a free slot is waiting on its budget."""
        for call in self.queued.values():
            if self.free(call.resource) >= 1:
                assert call.est_tokens > self.left_now(call.pid), f"{call} left idle"

    def check_counts(self, s: Scheduler) -> None:
        assert s.queue_depths() == dict(Counter(c.resource for c in self.queued.values()))
        assert s.in_flight() == dict(Counter(c.resource for c in self.running.values()))


# -- (3) budgets, (4) limits, accounting, no call left waiting forever ------------------

ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            st.integers(0, 4),  # pid
            st.integers(0, 2),  # resource
            st.integers(0, 3),  # priority
            st.integers(0, 60),  # est_tokens
        ),
        st.tuples(st.just("schedule")),
        st.tuples(st.just("complete"), st.integers(0, 50), st.floats(0, 1)),
        st.tuples(st.just("remove"), st.integers(0, 50)),
        st.tuples(st.just("limit"), st.integers(0, 2), st.none() | st.integers(0, 3)),
    ),
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(
    policy=st.sampled_from(POLICIES),
    limits=st.lists(st.none() | st.integers(0, 3), min_size=3, max_size=3),
    budgets=st.dictionaries(st.integers(0, 4), st.integers(0, 150)),
    script=ops,
)
def test_limits_and_budgets_always_hold(
    policy: str, limits: list[int | None], budgets: dict[int, int], script: list[tuple[Any, ...]]
) -> None:
    s = Scheduler(
        make_policy(policy), limits={r: n for r, n in zip(RESOURCES, limits, strict=True) if n}
    )
    model = Model({r: n or None for r, n in zip(RESOURCES, limits, strict=True)}, dict(budgets))
    for pid, budget in budgets.items():
        s.set_budget(pid, budget)
    ids = itertools.count()
    for step, op in enumerate(script):
        if op[0] == "add":
            _, pid, r, prio, est = op
            call = QueuedCall(next(ids), pid, f"p{pid % 3}", RESOURCES[r], prio, step, est)
            s.add(call)
            model.add(call)
        elif op[0] == "schedule":
            model.apply(s.schedule(float(step)))
            model.check_work_conserving()
        elif op[0] == "complete" and model.running:
            call = sorted(model.running.values(), key=lambda c: c.call_id)[
                op[1] % len(model.running)
            ]
            tokens = int(call.est_tokens * op[2])  # the kernel clamps to est_tokens
            s.update_from_output([finish(call, tokens)])
            model.finish(call, tokens)
        elif op[0] == "remove" and model.queued:
            call_id = sorted(model.queued)[op[1] % len(model.queued)]
            assert s.remove(call_id) == model.queued.pop(call_id)
        elif op[0] == "limit":
            model.limits[RESOURCES[op[1]]] = op[2]
            s.set_limit(RESOURCES[op[1]], op[2])
        for pid, budget in budgets.items():
            assert model.used[pid] + model.reserved(pid) <= budget
        model.check_counts(s)
    # Drain: with slots everywhere every call either runs or is rejected; none waits forever.
    for r in RESOURCES:
        s.set_limit(r, None)
        model.limits[r] = None
    for step in range(len(script) + 2):
        model.apply(s.schedule(1000.0 + step))
        model.check_work_conserving()
        for call in list(model.running.values()):
            s.update_from_output([finish(call, call.est_tokens)])
            model.finish(call, call.est_tokens)
        if not model.queued:
            break
    model.apply(s.schedule(2000.0))
    assert (
        not model.queued and not model.rejecting and s.queue_depths() == {} and s.in_flight() == {}
    )


# -- (2) strict priority order ----------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    limits=st.lists(st.integers(1, 3), min_size=3, max_size=3),
    script=ops,
)
def test_priority_never_starts_a_lower_priority_call_first(
    limits: list[int], script: list[tuple[Any, ...]]
) -> None:
    s = Scheduler(make_policy("priority"), limits=dict(zip(RESOURCES, limits, strict=True)))
    model = Model(dict(zip(RESOURCES, limits, strict=True)))
    ids = itertools.count()

    def key(c: QueuedCall) -> tuple[int, float, int]:
        return (-c.priority, c.enqueued_at, c.call_id)

    for step, op in enumerate(script):
        if op[0] == "add":
            _, pid, r, prio, est = op
            call = QueuedCall(next(ids), pid, "p", RESOURCES[r], prio, float(step % 7), est)
            s.add(call)
            model.add(call)
        elif op[0] in ("schedule", "remove", "limit"):  # keep limits fixed here
            decision = s.schedule(float(step))
            model.apply(decision)
            model.check_work_conserving()
            started = [key(c) for c in decision.dispatch]
            assert started == sorted(started), "not started best first"
            for call in decision.dispatch:
                for waiting in model.queued.values():
                    if waiting.resource == call.resource:
                        assert key(call) < key(waiting), f"{call} overtook {waiting}"
        elif op[0] == "complete" and model.running:
            call = sorted(model.running.values(), key=lambda c: c.call_id)[
                op[1] % len(model.running)
            ]
            s.update_from_output([finish(call, 0)])
            model.finish(call, 0)


# -- (1) no pid starves under round-robin and least attained service --------------------


def starvation_run(
    policy: str,
    seed: int,
    hogs: int,
    lights: int,
    quantum: int,
    max_est: int,
    limits: dict[str, int],
    horizon: int = 60,
) -> list[tuple[QueuedCall, int]]:
    """Hogs flood every resource; light pids keep one call at a time. Returns light waits.

    Every step: arrivals, `schedule`, then each running call finishes with chance 1/2,
    and surely once it has run two steps.
    """
    rnd = random.Random(seed)
    kw = {"quantum_tokens": quantum} if policy == "rr" else {}
    s = Scheduler(make_policy(policy, **kw), limits=limits)
    ids = itertools.count()
    running: dict[int, tuple[QueuedCall, int]] = {}
    waiting: dict[int, int] = {}  # light call id -> step queued
    busy: set[int] = set()
    waits: list[tuple[QueuedCall, int]] = []
    for step in itertools.count():
        for h, r in itertools.product(range(hogs), limits):
            for _ in range(2):  # twice what any resource can serve: backlogs only grow
                est = rnd.randint(0, max_est)
                s.add(QueuedCall(next(ids), 100 + h, f"hog{h}", r, 0, step, est))
        for light in range(lights):
            if step < horizon and light not in busy and rnd.random() < 0.7:
                call = QueuedCall(
                    next(ids),
                    light,
                    f"light{light}",
                    rnd.choice(list(limits)),
                    0,
                    step,
                    rnd.randint(0, max_est),
                )
                s.add(call)
                busy.add(light)
                waiting[call.call_id] = step
        for call in s.schedule(float(step)).dispatch:
            running[call.call_id] = (call, step)
            if call.call_id in waiting:
                waits.append((call, step - waiting.pop(call.call_id)))
        done = [c for c, at in running.values() if step - at >= 2 or rnd.random() < 0.5]
        s.update_from_output([finish(c, rnd.randint(0, c.est_tokens)) for c in done])
        for call in done:
            del running[call.call_id]
            busy.discard(call.pid)
        if step >= horizon and not waiting:
            return waits
        assert step < horizon + 2000, f"light calls still waiting: {sorted(waiting)}"
    raise AssertionError("unreachable")


def wait_bound(policy: str, pids: int, quantum: int, max_est: int, limits: dict[str, int]) -> int:
    """Steps a light call may wait: calls the pids ahead of it may start first, times 3
    (a slot frees within three steps).

    Round-robin: each of the others starts at most `quantum` + limit calls before it goes
    behind. LAS: a program starts a call only while its settled service (never falling,
    +1 per call) is at most the light program's, which exceeds it by at most one call
    (`max_est` + 1) plus the estimates it still had in flight (`max_est` per slot).
    """
    slots = sum(limits.values())
    per_pid = quantum + max(limits.values()) if policy == "rr" else max_est * (slots + 1) + 3
    return 3 * ((pids - 1) * per_pid + 2)


starvation_cases = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 2**32 - 1),
        "hogs": st.integers(1, 2),
        "lights": st.integers(1, 3),
        "quantum": st.integers(1, 4),
        "max_est": st.integers(0, 4),
        "limits": st.lists(st.integers(1, 2), min_size=1, max_size=2).map(
            lambda ls: {f"r{i}": n for i, n in enumerate(ls)}
        ),
    }
)


@settings(max_examples=60, deadline=None)
@given(policy=st.sampled_from(["rr", "las"]), case=starvation_cases)
def test_no_pid_starves_under_rr_and_las(policy: str, case: dict[str, Any]) -> None:
    bound = wait_bound(
        policy, case["hogs"] + case["lights"], case["quantum"], case["max_est"], case["limits"]
    )
    for call, waited in starvation_run(policy, **case):
        assert waited <= bound, f"{call} waited {waited} steps (bound {bound})"


def test_fifo_does_starve_in_the_same_run() -> None:
    """The starvation property has teeth: FIFO breaks the bound RR and LAS keep."""
    limits = {"r0": 1, "r1": 2}
    waits = starvation_run("fifo", 1, 2, 3, 4, 4, limits, horizon=120)
    assert max(w for _, w in waits) > wait_bound("las", 5, 4, 4, limits)


# -- (5) LAS fairness between two backlogged programs -----------------------------------


@settings(max_examples=80, deadline=None)
@given(
    limit=st.integers(1, 3),
    max_est=st.integers(0, 100),
    pids=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    seed=st.integers(0, 2**32 - 1),
)
def test_las_keeps_backlogged_programs_within_one_call(
    limit: int, max_est: int, pids: tuple[int, int], seed: int
) -> None:
    rnd = random.Random(seed)
    s = Scheduler(make_policy("las"), limits={"llm:m": limit})
    ids = itertools.count()
    attained = {"A": 0, "B": 0}  # tokens + 1 per call, as the policy counts
    queued = {"A": 0, "B": 0}
    for step in range(80):
        for program, n in zip("AB", pids, strict=True):
            while queued[program] < 3:  # continuously backlogged
                pid = (0 if program == "A" else 100) + rnd.randrange(n)
                est = rnd.randint(0, max_est)
                s.add(QueuedCall(next(ids), pid, program, "llm:m", 0, step, est))
                queued[program] += 1
        started = s.schedule(float(step)).dispatch
        assert len(started) == limit
        tokens = [rnd.randint(0, c.est_tokens) for c in started]
        s.update_from_output([finish(c, t) for c, t in zip(started, tokens, strict=True)])
        for call, t in zip(started, tokens, strict=True):
            queued[call.program] -= 1
            attained[call.program] += t + 1
        # One slot: within one call's max cost. More slots: each concurrent call may
        # settle below its estimate, so allow one call per slot more.
        bound = (max_est + 1) * (1 if limit == 1 else limit + 1)
        assert abs(attained["A"] - attained["B"]) <= bound, (step, attained)


# -- the lanes and lazy heaps pick exactly what a naive scan would ----------------------


class NaiveScheduler:
    """The obvious O(n) reference: each start rescans every queued call for the best one."""

    def __init__(self, policy: str, limits: dict[str, int]) -> None:
        self.policy = make_policy(policy)
        self.limits = limits
        self.queued: dict[int, QueuedCall] = {}
        self.running: dict[int, QueuedCall] = {}

    def add(self, call: QueuedCall) -> None:
        self.policy.on_enqueue(call)
        self.queued[call.call_id] = call

    def remove(self, call_id: int) -> None:
        self.policy.on_leave(self.queued.pop(call_id))

    def schedule(self) -> list[QueuedCall]:
        started: list[QueuedCall] = []
        while True:
            busy = Counter(c.resource for c in self.running.values())
            free = [c for c in self.queued.values() if busy[c.resource] < self.limits[c.resource]]
            if not free:
                return started
            p = self.policy
            best = min(free, key=lambda c: p.flow_key(p.flow(c)) + p.call_key(c))
            del self.queued[best.call_id]
            self.running[best.call_id] = best
            p.on_dispatch(best)
            started.append(best)

    def complete(self, call_id: int, tokens: int) -> None:
        self.policy.on_complete(self.running.pop(call_id), tokens)


@settings(max_examples=12, deadline=None)
@given(policy=st.sampled_from(POLICIES), seed=st.integers(0, 2**32 - 1))
def test_dispatch_order_matches_a_naive_scan_under_churn(policy: str, seed: int) -> None:
    rnd = random.Random(seed)
    limits = {f"r{i}": rnd.randint(1, 4) for i in range(6)}
    s = Scheduler(make_policy(policy), limits=limits)
    naive = NaiveScheduler(policy, limits)
    for i in range(1500):
        roll = rnd.random()
        if roll < 0.45:
            pid = rnd.randrange(20)
            call = QueuedCall(
                i,
                pid,
                f"p{pid % 5}",
                rnd.choice(list(limits)),
                rnd.randrange(3),
                rnd.choice([i, i // 10]),
                rnd.randrange(200),
            )
            s.add(call)
            naive.add(call)
        elif roll < 0.65 and naive.queued:  # heavy cancelling leaves garbage in the heaps
            victim = rnd.choice(sorted(naive.queued))
            assert s.remove(victim) is not None
            naive.remove(victim)
        elif roll < 0.7:  # pausing a resource lets refiled lanes pile up in its heap
            resource, limit = rnd.choice(list(limits)), rnd.choice([0, 0, 1, 4])
            s.set_limit(resource, limit)
            naive.limits[resource] = limit
        elif roll < 0.88 and naive.running:
            call = naive.running[rnd.choice(sorted(naive.running))]
            tokens = rnd.randint(0, call.est_tokens)
            s.update_from_output([finish(call, tokens)])
            naive.complete(call.call_id, tokens)
        else:
            assert list(s.schedule(float(i)).dispatch) == naive.schedule()
