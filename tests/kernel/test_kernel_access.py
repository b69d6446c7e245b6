"""Access control through a real kernel: capability denials, policy rules, approvals
decided from another OS process (also across a kernel restart), child capabilities and
inherited budgets. Every refusal must reach the agent as a typed error, be journaled (so a
replay fails the call the same way) and be audited."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import llmagentos
from llmagentos import Capabilities, Kernel, tool
from llmagentos.access import Policy, Rule
from llmagentos.errors import ApprovalRejected, PermissionDenied, QuotaExceeded
from llmagentos.kernel.process import ProcessState
from llmagentos.records import loads

SRC = str(Path(llmagentos.__file__).resolve().parents[1])
invocations: list[int] = []  # what `counted_add` did, across kernels in one test


@pytest.fixture(autouse=True)
def _fresh_counter() -> None:
    invocations.clear()


@tool
def counted_add(a: int, b: int) -> int:
    """Add two integers and remember that it happened."""
    invocations.append(a + b)
    return a + b


# -- helpers ----------------------------------------------------------------------------


async def until(cond: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def journal_rows(kernel: Kernel, pid: int) -> list[Any]:
    """The journal of `pid` as committed so far (results may commit behind the agent)."""
    return kernel.db.query(
        "SELECT seq, kind, status, result FROM journal WHERE pid = ? ORDER BY seq", (pid,)
    )


async def committed_journal(kernel: Kernel, pid: int) -> list[Any]:
    """The journal of `pid` once everything queued so far is committed."""
    await asyncio.sleep(0.01)  # let queued journal flushes reach the writer
    await kernel.db.write(lambda conn: None)  # the writer commits in order
    return journal_rows(kernel, pid)


async def audited(kernel: Kernel, pid: int, effect: str | None = None) -> list[Any]:
    await asyncio.to_thread(kernel.audit.flush)
    return kernel.audit.query(pid=pid, effect=effect)


DECIDE = """
import sys
from llmagentos.access import ApprovalStore
from llmagentos.storage.db import Database
db = Database(sys.argv[1]).open()
try:
    approve = sys.argv[3] == "approve"
    a = ApprovalStore(db).decide(int(sys.argv[2]), approve, "operator", sys.argv[4])
finally:
    db.close()
print(a.status)
"""


async def decide_elsewhere(
    kernel_or_path: Kernel | Path, approval_id: int, verdict: str, note: str = ""
) -> str:
    """Approve or reject from a separate Python process, as `llmagentos approvals` does."""
    path = kernel_or_path.config.db_path if isinstance(kernel_or_path, Kernel) else kernel_or_path
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        DECIDE,
        str(path),
        str(approval_id),
        verdict,
        note,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()[-2000:]
    return out.decode().strip()


# -- programs (module level: a restarted kernel finds them by reference) ------------------


async def attempt(ctx: Any, kind: str, target: Any) -> dict[str, Any]:
    """Try one guarded call; report the refusal; wait for "go"; report it again."""
    outcome: dict[str, Any] = {"error": None}
    try:
        if kind == "tools":
            await ctx.tool(target, a=1, b=2)
        elif kind == "namespaces":
            await ctx.kv_get("secret", namespace=target)
        elif kind == "peers":
            await ctx.send(target, "psst")
        elif kind == "topics":
            await ctx.publish(target, "news")
        elif kind == "models":
            await ctx.chat("hi", model=target)
        elif kind == "spawn":
            await ctx.spawn(target)
    except PermissionDenied as exc:
        outcome = {"error": type(exc).__name__, "message": exc.message}
    await ctx.kv_put("first-run", outcome)
    await ctx.receive(timeout=30)
    return outcome


async def idle(ctx: Any) -> str:
    return "idle"


async def go(ctx: Any, to: int) -> None:
    await ctx.send(to, "go")


async def ask_then_add(ctx: Any) -> dict[str, Any]:
    try:
        result = await ctx.tool("counted_add", a=2, b=3)
    except ApprovalRejected as exc:
        return {"rejected": exc.message}
    return {"sum": result.output}


# -- capability denials -----------------------------------------------------------------

DENIALS = {
    # kind: (capabilities, target, words the message must contain)
    "tools": (Capabilities(tools=("add",)), "counted_add", ["use tool", "'counted_add'"]),
    "namespaces": (Capabilities(namespaces=()), "shared/secrets", ["'shared/secrets'"]),
    "peers-by-name": (Capabilities(peers=("friend",)), "stranger", ["message", "'stranger'"]),
    "peers-by-pid": (Capabilities(peers=("friend",)), "PID", ["message process"]),
    "topics": (Capabilities(topics=("news",)), "secrets", ["use topic", "'secrets'"]),
    "models": (Capabilities(models=("echo",)), "gpt-4o", ["use model", "'gpt-4o'"]),
    "spawn": (Capabilities(spawn=False), "test_kernel_access:idle", ["may not spawn"]),
}
SYSCALL_KIND = {
    "tools": "tool",
    "namespaces": "storage",
    "peers": "ipc",
    "topics": "ipc",
    "models": "llm",
    "spawn": "process",
}


@pytest.mark.parametrize("case", sorted(DENIALS))
async def test_capability_denial_is_typed_journaled_audited_and_replayed(
    make_kernel: Any, case: str
) -> None:
    caps, target, words = DENIALS[case]
    k1: Kernel = await make_kernel(tools=[counted_add])
    stranger = (await k1.run(idle, name="stranger")).pid
    if target == "PID":
        target = stranger
    kind = case.split("-")[0]
    pid = await k1.spawn(attempt, {"kind": kind, "target": target}, capabilities=caps)
    await until(
        lambda: k1.get(pid).state == "waiting" and len(journal_rows(k1, pid)) == 2,
        "the refusal and the first-run record",
    )

    refused = journal_rows(k1, pid)[0]
    assert refused["status"] == "error"
    info = loads(refused["result"])
    assert info.type == "PermissionDenied" and info.code == "permission_denied"
    for word in [*words, str(target), f"process {pid}"]:
        assert word in info.message, (word, info.message)
    denials = await audited(k1, pid, "deny")
    assert [(a.kind, a.effect) for a in denials] == [(SYSCALL_KIND[kind], "deny")]
    assert str(target) in denials[0].target
    assert invocations == []

    # Restart: the refusal is answered from the journal, identically, and not re-checked.
    state = k1.config.state_dir
    await k1.shutdown()
    k2: Kernel = await make_kernel(state_dir=state, tools=[counted_add])
    await k2.run(go, {"to": pid})
    status = await k2.wait(pid, timeout=10)
    assert status.state == "done", status.error
    assert status.result == {"error": "PermissionDenied", "message": info.message}
    assert k2.get(pid).restarts == 1
    assert len(await audited(k2, pid, "deny")) == 1


async def test_peers_may_be_named_by_pid_or_by_name(kernel: Kernel) -> None:
    friend = (await kernel.run(idle, name="friend")).pid

    async def by_pid_listed_by_name(ctx: Any) -> int:
        return await ctx.send(friend, "hello")

    async def by_name_listed_by_pid(ctx: Any) -> int:
        return await ctx.send("friend", "hello")

    for program, caps in (
        (by_pid_listed_by_name, Capabilities(peers=("friend",))),
        (by_name_listed_by_pid, Capabilities(peers=(str(friend),))),
    ):
        status = await kernel.run(program, capabilities=caps)
        assert status.state == "done", status.error
    rows = kernel.db.query("SELECT count(*) FROM mailbox WHERE recipient = ?", (friend,))
    assert rows[0][0] == 2


async def test_model_capability_covers_the_default_model(kernel: Kernel) -> None:
    async def prog(ctx: Any) -> str:
        return (await ctx.chat("hi")).text

    status = await kernel.run(prog, capabilities=Capabilities(models=("echo",)))
    assert status.state == "done", status.error


# -- policy -----------------------------------------------------------------------------


async def test_policy_deny_rules_by_target_and_by_program(make_kernel: Any) -> None:
    policy = Policy(
        [
            Rule("deny", kinds=("storage",), targets=("shared*",), reason="shared is read-only"),
            Rule(
                "deny",
                kinds=("tool",),
                targets=("add",),
                programs=("untrusted",),
                reason="untrusted code may not add",
            ),
        ]
    )
    kernel: Kernel = await make_kernel(policy=policy)

    async def prog(ctx: Any) -> list[str]:
        out = []
        for call in (ctx.kv_put("x", 1, namespace="shared/board"), ctx.tool("add", a=1, b=1)):
            try:
                await call
                out.append("ok")
            except PermissionDenied as exc:
                out.append(exc.message)
        return out

    trusted = await kernel.run(prog, name="trusted")
    untrusted = await kernel.run(prog, name="untrusted")
    assert trusted.result == ["shared is read-only", "ok"]
    assert untrusted.result == ["shared is read-only", "untrusted code may not add"]
    assert [r["status"] for r in await committed_journal(kernel, untrusted.pid)] == [
        "error",
        "error",
    ]
    denials = await audited(kernel, untrusted.pid, "deny")
    assert [(a.kind, a.target, a.reason) for a in denials] == [
        ("storage", "shared/board", "shared is read-only"),
        ("tool", "add", "untrusted code may not add"),
    ]
    assert [a.target for a in await audited(kernel, trusted.pid, "allow")] == ["add"]


# -- ask: approvals decided by a person in another OS process ---------------------------

ASK = Policy([Rule("ask", kinds=("tool",), targets=("counted_add",), reason="adding needs ok")])


async def _pending_approval(kernel: Kernel, pid: int) -> Any:
    await until(lambda: bool(kernel.approvals.list("pending")), "an approval request")
    await until(lambda: kernel.get(pid).state == ProcessState.WAITING, "the process to wait")
    (approval,) = kernel.approvals.list("pending")
    assert (approval.pid, approval.kind, approval.target) == (pid, "tool", "counted_add")
    assert approval.reason == "adding needs ok"
    return approval


async def test_ask_waits_until_approved_from_another_process(make_kernel: Any) -> None:
    kernel: Kernel = await make_kernel(tools=[counted_add], policy=ASK)
    pid = await kernel.spawn(ask_then_add)
    approval = await _pending_approval(kernel, pid)
    await asyncio.sleep(0.3)  # still held: nothing ran while nobody decided
    assert invocations == [] and kernel.get(pid).state == ProcessState.WAITING

    assert await decide_elsewhere(kernel, approval.id, "approve", "fine") == "approved"
    status = await kernel.wait(pid, timeout=10)
    assert status.result == {"sum": 5} and invocations == [5]
    decided = kernel.approvals.get(approval.id)
    assert (decided.status, decided.decided_by, decided.note) == ("approved", "operator", "fine")
    assert [a.effect for a in await audited(kernel, pid)] == ["ask"]


async def test_ask_rejected_from_another_process(make_kernel: Any) -> None:
    kernel: Kernel = await make_kernel(tools=[counted_add], policy=ASK)
    pid = await kernel.spawn(ask_then_add)
    approval = await _pending_approval(kernel, pid)
    assert await decide_elsewhere(kernel, approval.id, "reject", "not today") == "rejected"
    status = await kernel.wait(pid, timeout=10)
    assert status.state == "done"
    assert "not today" in status.result["rejected"] and invocations == []
    (row,) = await committed_journal(kernel, pid)
    assert row["status"] == "error" and loads(row["result"]).type == "ApprovalRejected"


@pytest.mark.parametrize("decided_while_down", [False, True])
async def test_ask_survives_a_kernel_restart(make_kernel: Any, decided_while_down: bool) -> None:
    k1: Kernel = await make_kernel(tools=[counted_add], policy=ASK)
    pid = await k1.spawn(ask_then_add)
    approval = await _pending_approval(k1, pid)
    state = k1.config.state_dir
    await k1.shutdown()
    if decided_while_down:
        assert await decide_elsewhere(Path(state) / "os.db", approval.id, "approve") == "approved"

    k2: Kernel = await make_kernel(state_dir=state, tools=[counted_add], policy=ASK)
    if not decided_while_down:
        await until(lambda: k2.get(pid).state == ProcessState.WAITING, "the replayed wait")
        assert [a.id for a in k2.approvals.list()] == [approval.id]  # the same request
        assert invocations == []
        assert await decide_elsewhere(k2, approval.id, "approve") == "approved"
    status = await k2.wait(pid, timeout=10)
    assert status.result == {"sum": 5}
    assert invocations == [5]
    assert [a.id for a in k2.approvals.list()] == [approval.id]
    assert k2.get(pid).restarts == 1


# -- children and budgets ---------------------------------------------------------------


async def test_children_cannot_get_more_than_their_parent(kernel: Kernel) -> None:
    async def child(ctx: Any) -> list[str]:
        out = []
        for name, args in (("add", {"a": 1, "b": 1}), ("fail", {"message": "x"})):
            try:
                await ctx.tool(name, **args)
                out.append("ok")
            except PermissionDenied:
                out.append("denied")
        return out

    async def parent(ctx: Any) -> list[Any]:
        out: list[Any] = []
        for caps in (
            Capabilities(tools=("add", "fail")),
            Capabilities(tools=("*",)),
            Capabilities(max_tool_calls=5),
            Capabilities(spawn=True, tools=("add",)),
        ):
            try:
                await ctx.spawn(child, capabilities=caps)
                out.append("spawned")
            except PermissionDenied as exc:
                out.append(exc.message)
        narrowed = await ctx.spawn(child, capabilities=Capabilities(tools=("add",)))
        out.append((await ctx.wait(narrowed, timeout=10)).result)
        inherited = await ctx.spawn(child)
        out.append((await ctx.wait(inherited, timeout=10)).result)
        return out

    caps = Capabilities(tools=("add",), max_tool_calls=3, spawn=True)
    status = await kernel.run(parent, capabilities=caps)
    assert status.state == "done", status.error
    wide, star, budget, ok, narrowed, inherited = status.result
    assert "'fail'" in wide and "tools" in wide
    assert "'*'" in star
    assert "max_tool_calls=5" in budget and "3" in budget
    assert ok == "spawned"
    assert narrowed == inherited == ["ok", "denied"]
    errors = [r for r in await committed_journal(kernel, status.pid) if r["status"] == "error"]
    assert [loads(r["result"]).type for r in errors] == ["PermissionDenied"] * 3

    # The same rule holds for spawns from outside (CLI, server) on behalf of a parent.
    with pytest.raises(PermissionDenied, match="max_tool_calls"):
        await kernel.spawn(child, parent=status.pid, capabilities=Capabilities(max_tool_calls=9))


async def spend_tools(ctx: Any) -> dict[str, Any]:
    done = 0
    try:
        while done < 100:
            await ctx.tool("add", a=done, b=1)
            done += 1
    except QuotaExceeded as exc:
        return {"calls": done, "field": exc.details.get("field"), "message": exc.message}
    return {"calls": done}


async def spend_tokens(ctx: Any) -> dict[str, Any]:
    calls = 0
    try:
        while calls < 100:
            await ctx.chat("one two three four five six", max_tokens=8)
            calls += 1
    except QuotaExceeded as exc:
        return {"calls": calls, "field": exc.details.get("field"), "message": exc.message}
    return {"calls": calls}


async def budget_parent(ctx: Any) -> list[Any]:
    results = []
    for program in (spend_tools, spend_tokens):
        child = await ctx.spawn(program)
        results.append((await ctx.wait(child, timeout=10)).result)
    return results


async def test_children_inherit_budgets_and_are_stopped_by_them(kernel: Kernel) -> None:
    caps = Capabilities(max_tool_calls=3, max_tokens=40)
    status = await kernel.run(budget_parent, capabilities=caps)
    assert status.state == "done", status.error
    tools, tokens = status.result
    assert tools["calls"] == 3 and tools["field"] == "max_tool_calls"
    assert "max_tool_calls is 3" in tools["message"]
    assert tokens["calls"] == 3 and "tokens left" in tokens["message"]
    for info in kernel.ps():
        if info.parent == status.pid:
            assert kernel.get(info.pid).caps.max_tool_calls == 3
            assert info.usage.tool_calls <= 3 and info.usage.tokens <= 40
    # the refusals are journaled, so a replay stops each child at the same call
    for child in (p for p in kernel.ps() if p.parent == status.pid):
        last = (await committed_journal(kernel, child.pid))[-1]
        assert last["status"] == "error" and loads(last["result"]).type == "QuotaExceeded"


async def test_token_refusal_names_the_budget(kernel: Kernel) -> None:
    status = await kernel.run(spend_tokens, capabilities=Capabilities(max_tokens=40))
    assert status.result["field"] == "max_tokens"
