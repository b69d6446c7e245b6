"""The journal through a real kernel on a real SQLite file: replay after an in-process
restart, nondeterminism, a full disk, the rows themselves, compaction, and exactly-once
message delivery across a restart."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmagentos import Kernel, ToolContext, tool
from llmagentos.errors import JournalError, NotFound, SyscallTimeout, UnknownModel
from llmagentos.kernel.process import ProcessState
from llmagentos.llm.types import LLMResponse
from llmagentos.records import loads
from llmagentos.storage import journal
from llmagentos.testing import FunctionModel

invocations: list[str] = []  # idempotency keys of every `bump` / `record` invocation
FLAG = {"variant": "a"}  # read by `flag_dependent`: flipping it breaks determinism
DB_PATH: dict[str, Path] = {}  # the database `intent_check` reads from its own connection
HELD = threading.Event()  # `held_bump` blocks on it
GO = "go"


@pytest.fixture(autouse=True)
def _reset() -> None:
    invocations.clear()
    FLAG["variant"] = "a"
    DB_PATH.clear()
    HELD.clear()


@tool
def bump(n: int, ctx: ToolContext) -> int:
    """Increment `n`; an outside side effect, counted by its idempotency key."""
    invocations.append(ctx.idempotency_key)
    return n + 1


@tool
def record(text: str, ctx: ToolContext) -> int:
    """Record `text` outside the OS."""
    invocations.append(ctx.idempotency_key)
    return len(text)


@tool
def held_bump(n: int, ctx: ToolContext) -> int:
    """Like `bump`, but blocks until the test lets it finish."""
    invocations.append(ctx.idempotency_key)
    HELD.wait(10)
    return n + 1


@tool
def intent_check(ctx: ToolContext) -> str:
    """Read this call's own journal row from a separate connection while it runs."""
    pid, seq = (int(x) for x in ctx.call_id.split(":"))
    with sqlite3.connect(DB_PATH["db"], timeout=10) as conn:
        row = conn.execute(
            "SELECT status FROM journal WHERE pid = ? AND seq = ?", (pid, seq)
        ).fetchone()
    return row[0] if row else "missing"


# -- helpers ----------------------------------------------------------------------------


async def until(cond: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def rows(kernel: Kernel, pid: int) -> list[Any]:
    """The journal of `pid` as committed so far (results may commit behind the agent)."""
    return kernel.db.query(
        "SELECT seq, kind, status, result, started_at, ended_at FROM journal"
        " WHERE pid = ? ORDER BY seq",
        (pid,),
    )


def finished(kernel: Kernel, pid: int) -> int:
    return sum(r["status"] != "started" for r in rows(kernel, pid))


async def committed(kernel: Kernel, pid: int) -> list[Any]:
    """The journal of `pid` once everything queued so far is committed."""
    await asyncio.sleep(0.01)  # let queued journal flushes reach the writer
    await kernel.db.write(lambda conn: None)  # the writer commits in order
    return rows(kernel, pid)


async def blocked_after(kernel: Kernel, pid: int, calls: int) -> None:
    """Wait until `pid` has `calls` finished journal rows and waits (on its next call)."""
    await until(
        lambda: finished(kernel, pid) == calls and kernel.get(pid).state == ProcessState.WAITING,
        f"pid {pid} to block after {calls} calls",
    )


async def restart(make_kernel: Any, kernel: Kernel, **options: Any) -> Kernel:
    state = kernel.config.state_dir
    await kernel.shutdown()
    restarted: Kernel = await make_kernel(state_dir=state, **options)
    return restarted


# -- programs (module level: a restarted kernel finds them by reference) ------------------


async def tool_then_receive(ctx: Any) -> list[Any]:
    result = await ctx.tool("bump", n=1)
    env = await ctx.receive(timeout=30)
    await ctx.kv_put("got", env.payload)
    return [result.output, env.payload]


def sync_tool_then_receive(ctx: Any) -> list[Any]:
    result = ctx.tool("bump", n=1)
    env = ctx.receive(timeout=30)
    ctx.kv_put("got", env.payload)
    return [result.output, env.payload]


async def held_tool(ctx: Any) -> int:
    return (await ctx.tool("held_bump", n=1)).output


async def go(ctx: Any, to: int) -> None:
    await ctx.send(to, GO)


async def flag_dependent(ctx: Any) -> str:
    if FLAG["variant"] == "a":
        await ctx.kv_put("variant", "a")
    else:
        await ctx.tool("bump", n=0)
    await ctx.receive(timeout=30)
    return FLAG["variant"]


async def idle(ctx: Any) -> str:
    return "idle"


# -- (a) replay answers finished calls from the journal ---------------------------------


@pytest.mark.parametrize("program", [tool_then_receive, sync_tool_then_receive])
async def test_restart_replays_finished_calls_without_repeating_them(
    make_kernel: Any, program: Any
) -> None:
    k1: Kernel = await make_kernel(tools=[bump])
    pid = await k1.spawn(program)
    await blocked_after(k1, pid, 1)
    assert invocations == [f"{pid}:0"]

    k2 = await restart(make_kernel, k1, tools=[bump])
    assert k2.get(pid).restarts == 1
    await k2.run(go, {"to": pid})
    status = await k2.wait(pid, timeout=10)
    assert status.state == "done", status.error
    assert status.result == [2, GO]
    assert invocations == [f"{pid}:0"]  # the tool ran once in total
    row = k2.db.query_one("SELECT state, restarts FROM processes WHERE pid = ?", (pid,))
    assert (row["state"], row["restarts"]) == ("done", 1)
    assert [(r["seq"], r["kind"]) for r in await committed(k2, pid)] == [
        (0, "tool"),
        (1, "ipc"),
        (2, "storage"),
    ]


async def test_tool_in_flight_at_shutdown_reruns_with_the_same_key(make_kernel: Any) -> None:
    k1: Kernel = await make_kernel(tools=[held_bump])
    pid = await k1.spawn(held_tool)
    await until(lambda: len(invocations) == 1, "the tool to start")
    k2 = await restart(make_kernel, k1, tools=[held_bump])
    HELD.set()
    status = await k2.wait(pid, timeout=10)
    assert status.result == 2
    assert invocations == [f"{pid}:0", f"{pid}:0"]  # re-run, deduplicable by its stable key


async def test_shutdown_releases_sync_program_threads(make_kernel: Any) -> None:
    k1: Kernel = await make_kernel(tools=[bump])
    pid = await k1.spawn(sync_tool_then_receive)
    await blocked_after(k1, pid, 1)
    await k1.shutdown()
    await until(
        lambda: all(t.name != f"pid-{pid}" for t in threading.enumerate()),
        "the program thread to end",
        timeout=1.0,
    )


# -- (b) nondeterminism -----------------------------------------------------------------


async def test_diverging_replay_fails_with_nondeterminism(make_kernel: Any) -> None:
    k1: Kernel = await make_kernel(tools=[bump])
    pid = await k1.spawn(flag_dependent)
    await blocked_after(k1, pid, 1)
    FLAG["variant"] = "b"  # the program now makes a different first call

    k2 = await restart(make_kernel, k1, tools=[bump])
    status = await k2.wait(pid, timeout=10)
    assert status.state == "failed"
    assert status.error.startswith("NondeterminismError")
    assert "call #0" in status.error and "ToolInvoke" in status.error
    assert invocations == []  # the diverging call was refused, not run
    assert (await k2.run(idle)).result == "idle"  # the kernel goes on


# -- (c) a full disk --------------------------------------------------------------------

OUTCOMES: dict[str, Any] = {}  # what the full-disk programs saw, reported past their exit


def _report(label: str, value: Any) -> Any:
    OUTCOMES[label] = value
    return value


def _typed(exc: JournalError) -> dict[str, str]:
    return {"type": type(exc).__name__, "code": exc.code}


async def write_value(ctx: Any, label: str, key: str, size: int) -> Any:
    try:
        await ctx.kv_put(key, "x" * size)
    except JournalError as exc:
        return _report(label, _typed(exc))
    return _report(label, "ok")


async def record_text(ctx: Any, label: str, size: int) -> Any:
    try:
        result = await ctx.tool("record", text="y" * size)
    except JournalError as exc:
        return _report(label, _typed(exc))
    return _report(label, result.output)


async def read_back(ctx: Any, label: str, namespace: str) -> Any:
    try:
        return _report(label, len(await ctx.kv_get("kept", namespace=namespace)))
    except JournalError as exc:
        return _report(label, _typed(exc))


async def fill_disk(kernel: Kernel) -> None:
    """Cap the database at its current size, on the writer connection (a per-connection
    setting): any write that needs a new page now fails with SQLITE_FULL."""
    pages = await kernel.db.write(lambda c: c.execute("PRAGMA page_count").fetchone()[0])
    await kernel.db.write(lambda c: c.execute(f"PRAGMA max_page_count={pages}"))


async def free_disk(kernel: Kernel) -> None:
    await kernel.db.write(lambda c: c.execute("PRAGMA max_page_count=1073741823"))


async def outcome(kernel: Kernel, program: Any, label: str, **args: Any) -> Any:
    """Run `program` and return what it reported. Not `kernel.wait`: while the disk is
    full the exit itself may not persist, and then wait() hangs (see the xfail below)."""
    await kernel.spawn(program, {"label": label, **args})
    await until(lambda: label in OUTCOMES, f"{label} to report")
    return OUTCOMES[label]


async def test_full_disk_is_a_typed_error_and_loses_nothing(make_kernel: Any) -> None:
    OUTCOMES.clear()
    kernel: Kernel = await make_kernel(tools=[record])
    kept = await kernel.run(
        write_value, {"label": "kept", "key": "kept", "size": 2000}, name="keeper"
    )
    assert kept.result == "ok"
    before = [tuple(r) for r in await committed(kernel, kept.pid)]

    await fill_disk(kernel)
    try:
        big = await outcome(kernel, write_value, "big", key="big", size=300_000)
        assert big["code"].startswith("journal"), big
        # a side-effecting tool whose intent cannot be made durable must not run
        tool = await outcome(kernel, record_text, "tool", size=300_000)
        assert tool["code"].startswith("journal") and invocations == []
        # the kernel keeps serving: a read either works or fails typed, nothing hangs
        read = await outcome(kernel, read_back, "read", namespace="proc/keeper")
        assert read == 2000 or read["code"].startswith("journal")
    finally:
        await free_disk(kernel)

    again = await kernel.run(write_value, {"label": "again", "key": "big", "size": 300_000})
    assert again.result == "ok"
    assert (await kernel.run(record_text, {"label": "t2", "size": 300_000})).result == 300_000
    reread = await kernel.run(read_back, {"label": "r2", "namespace": "proc/keeper"})
    assert reread.result == 2000
    assert [tuple(r) for r in await committed(kernel, kept.pid)] == before
    keys = {r[0] for r in kernel.db.query("SELECT key FROM kv")}
    assert {"kept", "big"} <= keys


async def test_full_disk_surfaces_as_journal_full(make_kernel: Any) -> None:
    OUTCOMES.clear()
    kernel: Kernel = await make_kernel()
    await fill_disk(kernel)
    try:
        big = await outcome(kernel, write_value, "big", key="big", size=300_000)
    finally:
        await free_disk(kernel)
    assert big == {"type": "JournalFull", "code": "journal_full"}


async def big_result(ctx: Any) -> str:
    await ctx.receive(timeout=30)
    return "z" * 300_000


async def test_wait_returns_even_if_the_exit_cannot_be_persisted(make_kernel: Any) -> None:
    kernel: Kernel = await make_kernel()
    pid = await kernel.spawn(big_result)
    await blocked_after(kernel, pid, 0)
    await fill_disk(kernel)
    try:
        await kernel.run(go, {"to": pid})
        status = await kernel.wait(pid, timeout=2)
    finally:
        await free_disk(kernel)
    assert status.state in ("done", "failed")


# -- (d) the rows -----------------------------------------------------------------------


async def test_model_call_row_is_started_while_running_then_done(make_kernel: Any) -> None:
    release = asyncio.Event()

    async def slow(messages: Any, request: Any) -> str:
        await release.wait()
        return "late answer"

    kernel: Kernel = await make_kernel(models={"slow": FunctionModel(slow)})

    async def prog(ctx: Any) -> str:
        return (await ctx.chat("hello", max_tokens=5)).text

    pid = await kernel.spawn(prog)
    await until(lambda: [r["status"] for r in rows(kernel, pid)] == ["started"], "intent row")
    assert kernel.get(pid).state == ProcessState.WAITING
    release.set()
    assert (await kernel.wait(pid, timeout=10)).result == "late answer"
    (row,) = await committed(kernel, pid)
    assert (row["kind"], row["status"]) == ("llm", "done")
    assert row["started_at"] <= row["ended_at"]
    answer = loads(row["result"])
    assert isinstance(answer, LLMResponse) and answer.text == "late answer"


async def test_side_effecting_tool_intent_is_durable_before_it_runs(make_kernel: Any) -> None:
    kernel: Kernel = await make_kernel(tools=[intent_check])
    DB_PATH["db"] = kernel.config.db_path

    async def prog(ctx: Any) -> list[str]:
        return [(await ctx.tool("intent_check")).output for _ in range(3)]

    status = await kernel.run(prog)
    assert status.result == ["started"] * 3
    assert [r["status"] for r in await committed(kernel, status.pid)] == ["done"] * 3


async def test_failed_calls_are_journaled_as_errors(kernel: Kernel) -> None:
    async def prog(ctx: Any) -> list[str]:
        seen = []
        for call in (
            lambda: ctx.chat("hi", model="missing"),
            lambda: ctx.read_file("nope.txt"),
            lambda: ctx.request(ctx.pid, "me?", timeout=0.05),
            lambda: ctx.tool("fail", message="boom"),
            lambda: ctx.kv_put("fine", 1),
        ):
            try:
                await call()
                seen.append("ok")
            except (UnknownModel, NotFound, SyscallTimeout) as exc:
                seen.append(type(exc).__name__)
        return seen

    status = await kernel.run(prog)
    assert status.result == ["UnknownModel", "NotFound", "SyscallTimeout", "ok", "ok"]
    journaled = await committed(kernel, status.pid)
    assert [(r["seq"], r["kind"], r["status"]) for r in journaled] == [
        (0, "llm", "error"),
        (1, "storage", "error"),
        (2, "ipc", "error"),
        (3, "tool", "done"),  # a failing tool is an observation, not an error
        (4, "storage", "done"),
    ]
    errors = [loads(r["result"]) for r in journaled[:3]]
    assert [e.type for e in errors] == ["UnknownModel", "NotFound", "SyscallTimeout"]
    assert "missing" in errors[0].message
    failed_tool = loads(journaled[3]["result"])
    assert (failed_tool.ok, failed_tool.error_type) == (False, "ToolFailed")


async def test_compact_drops_only_ended_processes_then_replay_still_works(
    make_kernel: Any,
) -> None:
    k1: Kernel = await make_kernel(tools=[bump])
    ended = await k1.run(three_calls)
    live = await k1.spawn(tool_then_receive)
    await blocked_after(k1, live, 1)
    ended_rows = len(await committed(k1, ended.pid))
    assert ended_rows == 3

    dropped = await k1.db.write(lambda c: journal.compact(c, ("done", "failed", "killed")))
    assert dropped == ended_rows
    assert rows(k1, ended.pid) == [] and len(rows(k1, live)) == 1

    k2 = await restart(make_kernel, k1, tools=[bump])
    await k2.run(go, {"to": live})
    assert (await k2.wait(live, timeout=10)).result == [2, GO]
    assert invocations == [f"{ended.pid}:1", f"{live}:0"]


async def three_calls(ctx: Any) -> None:
    await ctx.kv_put("a", 1)
    await ctx.tool("bump", n=1)
    await ctx.now()


async def test_results_commit_before_the_effects_that_follow_them(kernel: Kernel) -> None:
    # A trigger records, inside the writer's transaction, whether the Now() result was
    # already written when the kv effect that uses it is applied.
    def install(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE probe(seen INTEGER)")
        conn.execute(
            "CREATE TRIGGER kv_probe AFTER INSERT ON kv BEGIN"
            " INSERT INTO probe SELECT count(*) FROM journal"
            "  WHERE kind = 'clock' AND status = 'done';"
            " END"
        )

    await kernel.db.write(install)

    async def prog(ctx: Any) -> None:
        await ctx.kv_put("t", await ctx.now())

    await kernel.run(prog)
    await kernel.db.write(lambda conn: None)
    assert [r[0] for r in kernel.db.query("SELECT seen FROM probe")] == [1]


# -- (e) exactly-once delivery across a restart -----------------------------------------


async def collector(ctx: Any, expected: int) -> list[int]:
    await ctx.subscribe("gate")
    got = [(await ctx.receive(timeout=30)).payload for _ in range(5)]
    await ctx.receive(timeout=30, topic="gate")  # the rest piles up meanwhile
    while len(got) < expected:
        env = await ctx.receive(timeout=30)
        if env is None:
            break
        got.append(env.payload)
    return got


async def sender(ctx: Any, to: int, start: int, count: int, pause: bool) -> int:
    for i in range(start, start + count):
        await ctx.send(to, i)
    if pause:
        await ctx.receive(timeout=30)
        for i in range(start + count, start + 2 * count):
            await ctx.send(to, i)
    return ctx.pid


async def open_gate(ctx: Any) -> int:
    return await ctx.publish("gate", "open")


async def test_messages_are_delivered_exactly_once_across_a_restart(make_kernel: Any) -> None:
    k1: Kernel = await make_kernel()
    receiver = await k1.spawn(collector, {"expected": 20})
    await until(lambda: finished(k1, receiver) == 1, "the subscription")
    await k1.run(sender, {"to": receiver, "start": 0, "count": 10, "pause": False})
    await blocked_after(k1, receiver, 6)  # took 0..4, waits at the gate; 5..9 pending
    paused = await k1.spawn(sender, {"to": receiver, "start": 10, "count": 5, "pause": True})
    await blocked_after(k1, paused, 5)  # sent 10..14, waits to be resumed

    k2 = await restart(make_kernel, k1)
    assert (await k2.run(open_gate)).result == 1
    await k2.run(go, {"to": paused})
    assert (await k2.wait(paused, timeout=10)).state == "done"
    status = await k2.wait(receiver, timeout=10)
    assert status.result == list(range(20))  # each exactly once, in order
    data = k2.db.query(
        "SELECT count(*), sum(consumed) FROM mailbox WHERE recipient = ? AND topic IS NULL",
        (receiver,),
    )[0]
    assert tuple(data) == (20, 20)  # nothing re-sent by the replayed sender
    assert k2.get(receiver).restarts == k2.get(paused).restarts == 1
