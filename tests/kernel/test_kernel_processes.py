"""Processes: lifecycle, states, kill/suspend/resume, accounting, quotas, programs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from llmagentos import Agent, AsyncAgent, Capabilities, Kernel
from llmagentos.errors import InvalidArgument, InvalidState, NotFound, UnknownProcess
from llmagentos.kernel.process import ProcessState


async def returns_args(ctx, **kw):
    return kw


async def forever(ctx):
    while True:
        await ctx.sleep(0.01)


def sync_forever(ctx):
    while True:
        ctx.sleep(0.01)


async def raises(ctx):
    raise RuntimeError("boom")


async def test_spawn_wait_returns_result(kernel: Kernel) -> None:
    status = await kernel.run(returns_args, {"x": 1, "y": [1, 2]})
    assert status.state == "done"
    assert status.result == {"x": 1, "y": [1, 2]}
    [info] = kernel.ps()
    assert info.name == "returns_args" and info.state == "done"
    assert info.usage.wall_time_s >= 0


async def test_failure_is_recorded_not_raised(kernel: Kernel) -> None:
    status = await kernel.run(raises)
    assert status.state == "failed"
    assert "RuntimeError: boom" in (status.error or "")
    rows = kernel.db.query("SELECT message FROM logs WHERE pid = ?", (status.pid,))
    assert any("Traceback" in r["message"] for r in rows)


@pytest.mark.parametrize("program", [forever, sync_forever])
async def test_kill_async_and_sync(kernel: Kernel, program) -> None:
    pid = await kernel.spawn(program)
    await asyncio.sleep(0.1)
    assert await kernel.kill(pid) is True
    status = await kernel.wait(pid, timeout=5)
    assert status.state == "killed"
    assert await kernel.kill(pid) is False


async def test_suspend_holds_process_until_resume(kernel: Kernel) -> None:
    async def counter(ctx):
        for i in range(1000):
            await ctx.kv_put("n", i)
            await ctx.sleep(0.005)

    pid = await kernel.spawn(counter)
    await asyncio.sleep(0.05)
    await kernel.suspend(pid)
    assert kernel.get(pid).state is ProcessState.SUSPENDED
    await asyncio.sleep(0.05)  # let an in-flight call land
    seq = kernel.get(pid).seq
    await asyncio.sleep(0.15)
    assert kernel.get(pid).seq == seq, "a suspended process made progress"
    await kernel.resume(pid)
    await asyncio.sleep(0.1)
    assert kernel.get(pid).seq > seq
    with pytest.raises(InvalidState):
        await kernel.resume(pid)
    await kernel.kill(pid)


async def test_unknown_pid_and_bad_arguments(kernel: Kernel) -> None:
    with pytest.raises(UnknownProcess):
        await kernel.kill(999)
    with pytest.raises(UnknownProcess):
        await kernel.wait(999)
    with pytest.raises(InvalidArgument):
        await kernel.spawn(returns_args, ["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        await kernel.spawn(returns_args, {"x": object()})
    with pytest.raises(NotFound):
        await kernel.spawn("no_such_module_xyz:main")
    with pytest.raises(NotFound):
        await kernel.spawn("/nonexistent/file.py:main")


async def test_program_from_file(kernel: Kernel, tmp_path: Path) -> None:
    src = tmp_path / "prog.py"
    src.write_text("async def main(ctx, n):\n    return n * 2\n")
    status = await kernel.run(f"{src}:main", {"n": 21})
    assert status.result == 42


async def test_accounting_counts_tokens_tools_syscalls(kernel: Kernel) -> None:
    async def work(ctx):
        await ctx.chat("one two three")
        await ctx.tool("add", a=1, b=2)
        await ctx.now()

    status = await kernel.run(work)
    usage = kernel.get(status.pid).usage()
    assert usage.llm_calls == 1 and usage.tool_calls == 1 and usage.syscalls == 3
    assert usage.tokens_in > 0 and usage.tokens_out > 0


async def test_tool_call_quota_stops_process(kernel: Kernel) -> None:
    async def greedy(ctx):
        for _ in range(10):
            await ctx.tool("add", a=1, b=1)

    pid = await kernel.spawn(greedy, capabilities=Capabilities(max_tool_calls=3))
    status = await kernel.wait(pid)
    assert status.state == "failed"
    assert "QuotaExceeded" in (status.error or "")
    assert kernel.get(pid).tool_calls == 3


async def test_token_quota_stops_process(kernel: Kernel) -> None:
    async def chatty(ctx):
        for _ in range(100):
            await ctx.chat("a b c d e f g h", max_tokens=8)

    pid = await kernel.spawn(chatty, capabilities=Capabilities(max_tokens=60))
    status = await kernel.wait(pid)
    assert status.state == "failed" and "QuotaExceeded" in (status.error or "")
    assert kernel.get(pid).tokens_in + kernel.get(pid).tokens_out <= 60 + 40


async def test_wall_time_quota_kills(kernel: Kernel) -> None:
    pid = await kernel.spawn(forever, capabilities=Capabilities(max_wall_s=0.2))
    status = await kernel.wait(pid, timeout=5)
    assert status.state == "killed" and "wall time" in (status.error or "")


async def test_syscall_quota(kernel: Kernel) -> None:
    pid = await kernel.spawn(forever, capabilities=Capabilities(max_syscalls=5))
    status = await kernel.wait(pid, timeout=5)
    assert status.state == "failed" and "max_syscalls" in (status.error or "")


class Upper(Agent):
    def act(self, observation):
        return {"text": observation["text"].upper(), "pid": self.ctx.pid}


class AsyncUpper(AsyncAgent):
    async def act(self, observation):
        return {"text": observation["text"].upper()}


@pytest.mark.parametrize("cls", [Upper, AsyncUpper])
async def test_agent_classes_as_programs(kernel: Kernel, cls) -> None:
    status = await kernel.run(cls, {"inputs": ["hi", {"text": "there"}]})
    assert [o["text"] for o in status.result] == ["HI", "THERE"]


async def test_agent_serves_mailbox_requests(kernel: Kernel) -> None:
    pid = await kernel.spawn(Upper, {})

    async def client(ctx, to):
        reply = await ctx.request(to, {"text": "ping"}, timeout=5)
        await ctx.send(to, {"type": "stop"})
        return reply.payload["text"]

    status = await kernel.run(client, {"to": pid})
    assert status.result == "PING"
    assert (await kernel.wait(pid, timeout=5)).state == "done"


async def test_second_kernel_on_same_state_dir_is_refused(make_kernel, tmp_path: Path) -> None:
    await make_kernel(state_dir=tmp_path / "shared")
    with pytest.raises(InvalidArgument, match="another kernel"):
        await make_kernel(state_dir=tmp_path / "shared")


async def _spender(ctx):
    spent = 0
    try:
        for _ in range(100):
            r = await ctx.chat("a b c d e f g h", max_tokens=8)
            spent += r.usage.total_tokens
    except Exception:
        pass
    return spent


async def test_children_spend_from_the_parents_budget(kernel: Kernel) -> None:
    async def parent(ctx):
        pids = [await ctx.spawn(_spender) for _ in range(4)]
        return [(await ctx.wait(p)).result for p in pids]

    pid = await kernel.spawn(parent, capabilities=Capabilities(max_tokens=100))
    status = await kernel.wait(pid, timeout=10)
    assert status.state == "done", status.error
    assert 0 < sum(status.result) <= 100
    assert kernel.get(pid).tree_tokens == sum(status.result)


async def test_observers_see_every_syscall(kernel: Kernel) -> None:
    traces = []
    undo = kernel.observe(traces.append)

    async def prog(ctx):
        await ctx.chat("hi")
        await ctx.tool("add", a=1, b=2)
        try:
            await ctx.read_file("missing")
        except Exception:
            pass

    await kernel.run(prog)
    undo()
    await kernel.run(prog)
    assert [(t.name, t.kind, t.ok) for t in traces] == [
        ("LLMCall", "llm", True),
        ("ToolInvoke", "tool", True),
        ("FileRead", "storage", False),
    ]
    assert traces[2].error_type == "NotFound" and all(t.duration_s >= 0 for t in traces)
