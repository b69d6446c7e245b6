"""Kernel invariants under random workloads (Hypothesis), each example on a fresh kernel
and a real SQLite file: token budgets are never exceeded, messages are never lost or
duplicated, and replay after a restart never repeats a side effect."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from llmagentos import Capabilities, Kernel, KernelConfig, ToolContext, tool
from llmagentos.errors import QuotaExceeded
from llmagentos.kernel.process import ProcessState
from llmagentos.llm.types import LLMRequest, Message
from llmagentos.records import loads
from llmagentos.testing import FunctionModel

T = TypeVar("T")
FAST = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def on_fresh_kernel(scenario: Callable[[Path], Awaitable[T]]) -> T:
    """Run `scenario(state_dir)` on a new event loop with a new state directory."""
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(asyncio.wait_for(scenario(Path(tmp) / "state"), 60))


async def until(cond: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


# -- (a) token budgets ------------------------------------------------------------------


def obedient(messages: tuple[Message, ...], request: LLMRequest) -> str:
    """Wants to say as many words as the prompt asks for, but honours `max_tokens` (as real
    servers do). Usage is exact: the doubles count whitespace-separated words."""
    want = int(messages[-1].content.split()[0])
    return " ".join(["word"] * min(want, request.max_tokens))


async def chatty(ctx: Any, calls: list[list[Any]]) -> list[str]:
    outcomes = []
    for prompt, max_tokens in calls:
        try:
            await ctx.chat(prompt, max_tokens=max_tokens)
            outcomes.append("ok")
        except QuotaExceeded:
            outcomes.append("quota")
    return outcomes


async def spend(state: Path, agents: list[tuple[int, list[list[Any]]]]) -> list[tuple[int, Any]]:
    """Run the agents at once; return each one's (budget, usage)."""
    model = FunctionModel(obedient)
    async with Kernel(KernelConfig(state_dir=state), models={"m": model}) as kernel:
        pids = [
            await kernel.spawn(chatty, {"calls": calls}, capabilities=Capabilities(max_tokens=b))
            for b, calls in agents
        ]
        for pid in pids:
            status = await kernel.wait(pid, timeout=30)
            assert status.state == "done", status.error
            event("a budget refused a call" if "quota" in status.result else "within budget")
        return [(b, kernel.get(pid).usage()) for (b, _), pid in zip(agents, pids, strict=True)]


def prompts(word: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """'<how many words to answer> <filler words>'."""
    return st.builds(
        lambda want, filler: " ".join([str(want), *filler]),
        st.integers(0, 60),
        st.lists(word, max_size=30),
    )


def workloads(word: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    call = st.tuples(prompts(word), st.integers(1, 100)).map(list)
    agent = st.tuples(st.integers(1, 200), st.lists(call, min_size=1, max_size=6))
    return st.lists(agent, min_size=1, max_size=4)


@FAST
@given(workloads(st.sampled_from(["word", "tokens", "budget", "kernel!"])))
def test_token_budget_is_never_exceeded(agents: list[tuple[int, list[list[Any]]]]) -> None:
    # Words of four characters or more: the kernel's prompt estimate (4 characters a
    # token) is then an upper bound of the double's count, and the clamp is exact.
    for budget, usage in on_fresh_kernel(lambda state: spend(state, agents)):
        assert usage.tokens <= budget, (budget, usage)


@FAST
@given(workloads(st.sampled_from(["a", "1", "你", "word"])))
@example([(60, [["100 " + " ".join(["a"] * 40), 100]])])
def test_token_budget_holds_for_prompts_of_short_tokens(
    agents: list[tuple[int, list[list[Any]]]],
) -> None:
    for budget, usage in on_fresh_kernel(lambda state: spend(state, agents)):
        assert usage.tokens <= budget, (budget, usage)


# -- (b) messages -----------------------------------------------------------------------


async def collect(ctx: Any, expected: int) -> list[list[int]]:
    got = []
    while len(got) < expected:
        env = await ctx.receive(timeout=20)
        assert env is not None, f"only {len(got)} of {expected} messages arrived"
        got.append(env.payload)
    return got


async def send_all(ctx: Any, me: int, targets: list[int]) -> int:
    for i, to in enumerate(targets):
        await ctx.send(to, [me, i])
    return len(targets)


def send_all_sync(ctx: Any, me: int, targets: list[int]) -> int:
    for i, to in enumerate(targets):
        ctx.send(to, [me, i])
    return len(targets)


async def exchange(
    state: Path, receivers: int, plans: list[tuple[bool, list[int]]]
) -> dict[int, list[list[int]]]:
    async with Kernel(KernelConfig(state_dir=state)) as kernel:
        expected = Counter(r for _, plan in plans for r in plan)
        inboxes = [await kernel.spawn(collect, {"expected": expected[r]}) for r in range(receivers)]
        senders = [
            await kernel.spawn(
                send_all_sync if sync else send_all,
                {"me": s, "targets": [inboxes[r] for r in plan]},
            )
            for s, (sync, plan) in enumerate(plans)
        ]
        for pid in senders:
            assert (await kernel.wait(pid, timeout=30)).state == "done"
        got = {}
        for r, pid in enumerate(inboxes):
            status = await kernel.wait(pid, timeout=30)
            assert status.state == "done", status.error
            got[r] = status.result
        pending = kernel.db.query("SELECT count(*) FROM mailbox WHERE consumed = 0")[0][0]
        assert pending == 0
        return got


@FAST
@given(
    st.integers(1, 3).flatmap(
        lambda receivers: st.tuples(
            st.just(receivers),
            st.lists(
                st.tuples(st.booleans(), st.lists(st.integers(0, receivers - 1), max_size=12)),
                min_size=1,
                max_size=4,
            ),
        )
    )
)
def test_messages_are_never_lost_or_duplicated(case: tuple[int, list[Any]]) -> None:
    receivers, plans = case
    got = on_fresh_kernel(lambda state: exchange(state, receivers, plans))
    for r in range(receivers):
        sent = [[s, i] for s, (_, plan) in enumerate(plans) for i, to in enumerate(plan) if to == r]
        assert sorted(got[r]) == sorted(sent)  # every payload exactly once
        for s in range(len(plans)):  # and in order from each sender
            from_s = [p for p in got[r] if p[0] == s]
            assert from_s == sorted(from_s)


# -- (c) replay never repeats a side effect ---------------------------------------------

INVOKED: list[str] = []  # idempotency keys of every `effect` invocation


@tool
def effect(n: int, ctx: ToolContext) -> int:
    """An outside side effect: each invocation is recorded."""
    INVOKED.append(ctx.idempotency_key)
    return n * 10


async def _op(ctx: Any, op: str, i: int) -> Any:
    if op == "tool":
        return (await ctx.tool("effect", n=i)).output
    if op == "kv":
        await ctx.kv_put(f"k{i}", i)
        return await ctx.kv_get(f"k{i}")
    if op == "now":
        return await ctx.now()
    return (await ctx.chat(f"say {i}")).text


async def scripted(ctx: Any, ops: list[str], pause: int) -> list[Any]:
    out = []
    for i, op in enumerate(ops):
        if i == pause:
            await ctx.receive(timeout=30)
        out.append(await _op(ctx, op, i))
    if pause >= len(ops):
        await ctx.receive(timeout=30)
    return out


def _op_sync(ctx: Any, op: str, i: int) -> Any:
    if op == "tool":
        return ctx.tool("effect", n=i).output
    if op == "kv":
        ctx.kv_put(f"k{i}", i)
        return ctx.kv_get(f"k{i}")
    if op == "now":
        return ctx.now()
    return ctx.chat(f"say {i}").text


def scripted_sync(ctx: Any, ops: list[str], pause: int) -> list[Any]:
    """`scripted` as blocking code in a worker thread (the sync bridge)."""
    out = []
    for i, op in enumerate(ops):
        if i == pause:
            ctx.receive(timeout=30)
        out.append(_op_sync(ctx, op, i))
    if pause >= len(ops):
        ctx.receive(timeout=30)
    return out


def echo(messages: tuple[Message, ...], request: LLMRequest) -> str:
    return "echo: " + messages[-1].content


def calls_of(op: str) -> int:
    return 2 if op == "kv" else 1


def answer_of(op: str, journaled: Any) -> Any:
    """What the program made of a journaled result."""
    if op == "tool":
        return journaled.output
    if op == "chat":
        return journaled.text
    return journaled


async def crash_and_replay(state: Path, ops: list[str], pause: int, sync: bool) -> list[Any]:
    def boot() -> Kernel:
        return Kernel(
            KernelConfig(state_dir=state), models={"m": FunctionModel(echo)}, tools=[effect]
        )

    first = boot()
    await first.boot()
    try:
        pid = await first.spawn(scripted_sync if sync else scripted, {"ops": ops, "pause": pause})
        before = sum(calls_of(op) for op in ops[:pause])

        def blocked() -> bool:
            done = first.db.query(
                "SELECT count(*) FROM journal WHERE pid = ? AND status != 'started'", (pid,)
            )[0][0]
            return done == before and first.get(pid).state == ProcessState.WAITING

        await until(blocked, "the program to reach its pause")
        journaled = {
            r["seq"]: loads(r["result"])
            for r in first.db.query("SELECT seq, result FROM journal WHERE pid = ?", (pid,))
        }
    finally:
        await first.shutdown()
    assert len(INVOKED) == ops[:pause].count("tool")

    async with boot() as second:

        async def go(ctx: Any) -> None:
            await ctx.send(pid, "go")

        await second.run(go)
        status = await second.wait(pid, timeout=30)
        assert status.state == "done", status.error
        assert second.get(pid).restarts == 1
    # answers before the pause came from the journal: identical, even the clock
    seq = 0
    for i, op in enumerate(ops[:pause]):
        seq += calls_of(op)
        assert status.result[i] == answer_of(op, journaled[seq - 1]), (i, op)
    return list(status.result)


@FAST
@given(
    st.lists(st.sampled_from(["tool", "kv", "now", "chat"]), max_size=8).flatmap(
        lambda ops: st.tuples(st.just(ops), st.integers(0, len(ops)), st.booleans())
    )
)
def test_replay_never_repeats_a_side_effect(case: tuple[list[str], int, bool]) -> None:
    ops, pause, sync = case
    event(f"restarted after {min(pause, len(ops))} of {len(ops)} operations")
    INVOKED.clear()
    result = on_fresh_kernel(lambda state: crash_and_replay(state, ops, pause, sync))
    tools = [i for i, op in enumerate(ops) if op == "tool"]
    assert len(INVOKED) == len(set(INVOKED)) == len(tools)  # each tool call ran once
    assert [result[i] for i in tools] == [i * 10 for i in tools]
    for i, op in enumerate(ops):
        if op == "chat":
            assert result[i] == f"echo: say {i}"
        elif op == "kv":
            assert result[i] == i
