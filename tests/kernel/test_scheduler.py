"""Scheduler and policies, driven with plain records: no model, no event loop."""

from __future__ import annotations

import itertools

import pytest

from llmagentos import records
from llmagentos.kernel.policies import (
    FIFO,
    LeastAttainedService,
    Policy,
    Priority,
    RoundRobin,
    make_policy,
)
from llmagentos.kernel.scheduler import (
    Completion,
    QueuedCall,
    Scheduler,
    SchedulerDecision,
    SchedulerStats,
)

_ids = itertools.count(1)


def call(
    pid: int = 1,
    resource: str = "llm:m",
    *,
    program: str | None = None,
    priority: int = 0,
    at: float = 0.0,
    est: int = 0,
    call_id: int | None = None,
) -> QueuedCall:
    cid = next(_ids) if call_id is None else call_id
    return QueuedCall(cid, pid, program or f"prog{pid}", resource, priority, at, est)


def done(c: QueuedCall, tokens: int = 0) -> Completion:
    return Completion(c.call_id, c.pid, c.program, c.resource, tokens, 0.1)


def ids(decision: SchedulerDecision) -> list[int]:
    return [c.call_id for c in decision.dispatch]


# -- FIFO, limits, removal --------------------------------------------------------------


def test_fifo_orders_by_arrival_then_call_id() -> None:
    s = Scheduler(FIFO())
    late, early, tie_b, tie_a = (
        call(at=3.0, call_id=10),
        call(at=1.0, call_id=11),
        call(at=2.0, call_id=13),
        call(at=2.0, call_id=12),
    )
    for c in (late, early, tie_b, tie_a):
        s.add(c)
    d = s.schedule(now=5.0)
    assert ids(d) == [11, 12, 13, 10]
    assert d.waiting == 0 and d.rejected == ()


def test_concurrency_limit_holds_until_completions_free_slots() -> None:
    s = Scheduler(FIFO(), limits={"llm:m": 2})
    calls = [call(at=float(i)) for i in range(5)]
    for c in calls:
        s.add(c)
    d = s.schedule(0.0)
    assert ids(d) == [calls[0].call_id, calls[1].call_id]
    assert d.waiting == 3
    assert s.in_flight() == {"llm:m": 2} and s.queue_depths() == {"llm:m": 3}
    assert s.schedule(1.0).dispatch == ()
    s.update_from_output([done(calls[1])])
    assert ids(s.schedule(2.0)) == [calls[2].call_id]
    assert s.in_flight() == {"llm:m": 2}


def test_full_resource_does_not_block_others() -> None:
    s = Scheduler(FIFO(), limits={"llm:slow": 1, "tool:fast": 3})
    first = call(resource="llm:slow", at=0.0)
    blocked = [call(resource="llm:slow", at=1.0 + i) for i in range(3)]
    later = [call(resource="tool:fast", at=10.0 + i) for i in range(2)]
    for c in (first, *blocked, *later):
        s.add(c)
    d = s.schedule(20.0)
    assert ids(d) == [first.call_id] + [c.call_id for c in later]


def test_default_limit_set_limit_pause_and_unlimited() -> None:
    s = Scheduler(FIFO(), default_limit=1)
    a, b, c = call(resource="r"), call(resource="r"), call(resource="r")
    for x in (a, b, c):
        s.add(x)
    assert len(s.schedule(0).dispatch) == 1
    s.set_limit("r", 0)  # paused: nothing more starts even after a completion
    s.update_from_output([done(a)])
    assert s.schedule(1).dispatch == ()
    s.set_limit("r", None)
    assert ids(s.schedule(2)) == [b.call_id, c.call_id]
    with pytest.raises(ValueError):
        s.set_limit("r", -1)


def test_remove_cancels_only_queued_calls() -> None:
    s = Scheduler(FIFO(), limits={"r": 1})
    a, b, c = call(resource="r", at=0), call(resource="r", at=1), call(resource="r", at=2)
    for x in (a, b, c):
        s.add(x)
    s.schedule(0)
    assert s.remove(a.call_id) is None  # running: its Completion frees the slot
    assert s.remove(b.call_id) == b
    assert s.remove(b.call_id) is None
    assert s.remove(999_999) is None
    assert s.queue_depths() == {"r": 1}
    s.update_from_output([done(a)])
    assert ids(s.schedule(1)) == [c.call_id]


def test_removing_many_calls_keeps_order_and_depths() -> None:
    s = Scheduler(FIFO(), limits={"r": 1000})
    calls = [call(resource="r", at=float(i)) for i in range(200)]
    for c in calls:
        s.add(c)
    for c in calls[::2]:
        assert s.remove(c.call_id) == c
    assert s.queue_depths() == {"r": 100}
    assert ids(s.schedule(0)) == [c.call_id for c in calls[1::2]]


def test_unknown_and_repeated_completions_are_ignored() -> None:
    s = Scheduler(FIFO(), limits={"r": 1})
    a = call(resource="r")
    s.add(a)
    s.schedule(0)
    s.update_from_output([done(a), done(a), done(call(resource="r"))])
    assert s.in_flight() == {}


def test_duplicate_call_id_is_rejected() -> None:
    s = Scheduler(FIFO())
    a = call()
    s.add(a)
    s.add(a)
    d = s.schedule(0)
    assert ids(d) == [a.call_id]
    assert [r.reason for r in d.rejected] == [f"duplicate call_id {a.call_id}"]


# -- budgets ----------------------------------------------------------------------------


def test_call_that_can_never_fit_is_rejected_with_a_readable_reason() -> None:
    s = Scheduler(FIFO())
    s.set_budget(7, 120)
    big = call(pid=7, est=300)
    s.add(big)
    d = s.schedule(0)
    assert d.dispatch == () and d.waiting == 0
    assert [(r.call_id, r.pid, r.reason) for r in d.rejected] == [
        (big.call_id, 7, "token budget: needs 300, 120 left")
    ]
    assert s.schedule(1).rejected == ()  # reported once


def test_call_waits_for_reservations_then_runs() -> None:
    s = Scheduler(FIFO())
    s.set_budget(1, 500)
    a, b = call(pid=1, est=300, at=0), call(pid=1, est=300, at=1)
    s.add(a)
    s.add(b)
    assert ids(s.schedule(0)) == [a.call_id]  # b would fit once a settles
    assert s.schedule(1).dispatch == ()
    s.update_from_output([done(a, tokens=150)])
    assert ids(s.schedule(2)) == [b.call_id]  # 350 left, needs 300


def test_waiting_call_is_rejected_once_usage_makes_it_impossible() -> None:
    s = Scheduler(FIFO())
    s.set_budget(1, 500)
    a, b = call(pid=1, est=300, at=0), call(pid=1, est=300, at=1)
    s.add(a)
    s.add(b)
    s.schedule(0)
    s.update_from_output([done(a, tokens=250)])
    d = s.schedule(1)
    assert d.dispatch == ()
    assert [r.reason for r in d.rejected] == ["token budget: needs 300, 250 left"]


def test_budget_waiting_call_does_not_block_other_pids() -> None:
    s = Scheduler(FIFO())
    s.set_budget(1, 100)
    a, b, c = call(pid=1, est=80, at=0), call(pid=1, est=80, at=1), call(pid=2, est=80, at=2)
    for x in (a, b, c):
        s.add(x)
    assert ids(s.schedule(0)) == [a.call_id, c.call_id]
    assert s.queue_depths() == {"llm:m": 1}


def test_set_budget_rejects_queued_calls_and_none_lifts_it() -> None:
    s = Scheduler(FIFO(), limits={"llm:m": 0})
    small, big = call(pid=3, est=10), call(pid=3, est=1000)
    s.add(small)
    s.add(big)
    s.set_budget(3, 50)
    d = s.schedule(0)
    assert [r.call_id for r in d.rejected] == [big.call_id]
    s.set_budget(3, None)
    s.set_limit("llm:m", 5)
    assert ids(s.schedule(1)) == [small.call_id]


# -- priority ---------------------------------------------------------------------------


def test_priority_is_strict_without_aging() -> None:
    s = Scheduler(Priority(), limits={"r": 1})
    low = call(resource="r", priority=0, at=0)
    high = call(resource="r", priority=5, at=100)
    mid_a, mid_b = call(resource="r", priority=2, at=3), call(resource="r", priority=2, at=1)
    for c in (low, high, mid_a, mid_b):
        s.add(c)
    order = []
    for t in range(4):
        (started,) = s.schedule(float(t)).dispatch
        order.append(started.call_id)
        s.update_from_output([done(started)])
    assert order == [high.call_id, mid_b.call_id, mid_a.call_id, low.call_id]


def test_priority_aging_lets_an_old_call_overtake() -> None:
    s = Scheduler(Priority(aging_s=10.0), limits={"r": 1})
    blocker = call(resource="r", at=0)
    s.add(blocker)
    s.schedule(0)
    old_low = call(resource="r", priority=0, at=0.0)
    new_high = call(resource="r", priority=2, at=30.0)  # old_low has aged by 3 by now
    s.add(new_high)
    s.add(old_low)
    s.update_from_output([done(blocker)])
    assert ids(s.schedule(30.0)) == [old_low.call_id]


# -- round-robin ------------------------------------------------------------------------


def test_round_robin_rotates_after_quantum() -> None:
    s = Scheduler(RoundRobin(quantum_tokens=100), limits={"r": 1})
    a_calls = [call(pid=1, resource="r", at=i) for i in range(4)]
    b_calls = [call(pid=2, resource="r", at=10 + i) for i in range(2)]
    for c in (*a_calls, *b_calls):
        s.add(c)
    order = []
    for t in range(6):
        (started,) = s.schedule(float(t)).dispatch
        order.append(started.pid)
        s.update_from_output([done(started, tokens=60)])
    # pid 1 keeps its turn until it has used >= 100 tokens (two calls), then goes back.
    assert order == [1, 1, 2, 2, 1, 1]


def test_round_robin_zero_token_calls_count_as_one() -> None:
    s = Scheduler(RoundRobin(quantum_tokens=2), limits={"r": 1})
    for c in [call(pid=1, resource="r", at=i) for i in range(3)] + [call(pid=2, resource="r")]:
        s.add(c)
    order = []
    for t in range(4):
        (started,) = s.schedule(float(t)).dispatch
        order.append(started.pid)
        s.update_from_output([done(started, tokens=0)])
    assert order == [1, 1, 2, 1]


def test_round_robin_keeps_a_light_pid_from_waiting_behind_a_hog() -> None:
    def light_wait(policy: Policy) -> int:
        s = Scheduler(policy, limits={"r": 1})
        for i in range(50):
            s.add(call(pid=1, resource="r", at=i))
        light = call(pid=2, resource="r", at=100)
        s.add(light)
        for step in range(60):
            (started,) = s.schedule(float(step)).dispatch
            if started == light:
                return step
            s.update_from_output([done(started, tokens=10)])
        return 60

    assert light_wait(FIFO()) == 50
    assert light_wait(RoundRobin(quantum_tokens=30)) <= 3


# -- least attained service -------------------------------------------------------------


def _big_vs_small(limit: int, steps: int) -> dict[str, int]:
    """A program with 100 queued calls against one that keeps a single call queued."""
    s = Scheduler(LeastAttainedService(), limits={"r": limit})
    for i in range(100):
        s.add(call(pid=10 + i, program="big", resource="r", at=0.0, est=50))
    s.add(call(pid=1, program="small", resource="r", at=1.0, est=50))
    served = {"big": 0, "small": 0}
    for step in range(steps):
        started = s.schedule(float(step)).dispatch
        s.update_from_output([done(c, tokens=50) for c in started])
        for c in started:
            served[c.program] += 1
            if c.program == "small":
                s.add(call(pid=1, program="small", resource="r", at=float(step), est=50))
    return served


def test_las_program_with_many_requests_gets_no_more_than_one_with_few() -> None:
    served = _big_vs_small(limit=1, steps=40)
    assert served["small"] == served["big"] == 20
    # With spare slots the small program is served every step; the rest go to the big one.
    assert _big_vs_small(limit=4, steps=10) == {"big": 30, "small": 10}


def test_las_newcomer_starts_at_least_active_service() -> None:
    policy = LeastAttainedService()
    s = Scheduler(policy, limits={"r": 1})
    old = [call(program="old", resource="r", at=i, est=100) for i in range(40)]
    for c in old[:20]:
        s.add(c)
    for t in range(10):
        (started,) = s.schedule(float(t)).dispatch
        s.update_from_output([done(started, tokens=100)])
    assert policy.attained("old") == 10 * 101
    for i in range(10):
        s.add(call(program="new", resource="r", at=100 + i, est=100))
    order = []
    for t in range(6):
        (started,) = s.schedule(float(20 + t)).dispatch
        order.append(started.program)
        s.update_from_output([done(started, tokens=100)])
    assert order == ["old", "new", "old", "new", "old", "new"]  # alternate, ties by arrival


def test_las_counts_zero_token_calls() -> None:
    s = Scheduler(LeastAttainedService(), limits={"tool:x": 1})
    for i in range(3):
        s.add(call(program="a", resource="tool:x", at=i))
        s.add(call(program="b", resource="tool:x", at=i + 0.5))
    order = []
    for t in range(6):
        (started,) = s.schedule(float(t)).dispatch
        order.append(started.program)
        s.update_from_output([done(started)])
    assert order == ["a", "b", "a", "b", "a", "b"]


# -- factory and stats ------------------------------------------------------------------


def test_make_policy_names_and_options() -> None:
    assert isinstance(make_policy("fifo"), FIFO)
    assert isinstance(make_policy("RR", quantum_tokens=8), RoundRobin)
    aged = make_policy("priority", aging_s=5.0)
    assert isinstance(aged, Priority) and aged.aging_s == 5.0
    assert isinstance(make_policy("las"), LeastAttainedService)
    with pytest.raises(ValueError, match="unknown scheduling policy 'lottery'"):
        make_policy("lottery")
    with pytest.raises(ValueError):
        RoundRobin(quantum_tokens=0)


def test_stats_snapshot_is_a_codable_record() -> None:
    s = Scheduler(LeastAttainedService(), limits={"llm:m": 1})
    a, b = call(pid=1, program="p", at=0.0, est=10), call(pid=2, program="q", at=1.0)
    s.add(a)
    s.add(b)
    s.schedule(now=4.0)
    s.update_from_output([done(a, tokens=7)])
    st = s.stats()
    assert st.policy == "LeastAttainedService" and st.queued == 1 and st.in_flight == 0
    (res,) = st.resources
    assert (res.resource, res.limit, res.queued, res.dispatched, res.completed) == (
        "llm:m",
        1,
        1,
        1,
        1,
    )
    assert res.oldest_wait_s == 3.0
    assert [(p.program, p.tokens, p.calls, p.queued) for p in st.programs] == [
        ("p", 7, 1, 0),
        ("q", 0, 0, 1),
    ]
    assert records.loads(records.dumps(st)) == st
    assert isinstance(st, SchedulerStats)
