"""Each system call through a real kernel on a real SQLite file, and its error paths."""

from __future__ import annotations

import asyncio

import pytest

from llmagentos import Capabilities, Kernel
from llmagentos.errors import (
    InvalidArgument,
    NotFound,
    PermissionDenied,
    RequestTooLarge,
    SyscallTimeout,
    UnknownModel,
    UnknownProcess,
)
from llmagentos.kernel.syscalls import ToolResult
from llmagentos.testing import FunctionModel


async def run(kernel: Kernel, fn, **kw):
    status = await kernel.run(fn, **kw)
    assert status.state == "done", status.error
    return status.result


async def test_storage_kv_and_files(kernel: Kernel) -> None:
    async def prog(ctx):
        await ctx.kv_put("a/1", {"x": 1})
        await ctx.kv_put("a/2", [1, 2])
        await ctx.kv_put("b", "s")
        keys = await ctx.kv_list("a/")
        got = await ctx.kv_get("a/1")
        missing = await ctx.kv_get("zz", default="dflt")
        deleted = await ctx.kv_delete("b")
        await ctx.write_file("notes/today.txt", "hello")
        await ctx.write_file("bin.dat", b"\x00\x01")
        text = await ctx.read_file("notes/today.txt")
        blob = await ctx.read_file("bin.dat")
        files = await ctx.list_files()
        return [keys, got, missing, deleted, text, blob == b"\x00\x01", files]

    assert await run(kernel, prog) == [
        ["a/1", "a/2"],
        {"x": 1},
        "dflt",
        True,
        "hello",
        True,
        ["bin.dat", "notes/today.txt"],
    ]


@pytest.mark.parametrize("path", ["../escape", "/etc/passwd", "a/../../b", "", "x\x00y"])
async def test_file_path_confinement(kernel: Kernel, path: str) -> None:
    async def prog(ctx):
        await ctx.write_file(path, "x")

    status = await kernel.run(prog)
    assert status.state == "failed" and "InvalidArgument" in status.error


async def test_read_missing_file_is_typed(kernel: Kernel) -> None:
    async def prog(ctx):
        try:
            await ctx.read_file("nope.txt")
        except NotFound as exc:
            return exc.code

    assert await run(kernel, prog) == "not_found"


async def test_namespaces_are_private_by_capability(kernel: Kernel) -> None:
    async def writer(ctx):
        await ctx.kv_put("secret", 42)
        return ctx.pid

    await run(kernel, writer)

    async def snoop(ctx):
        return await ctx.kv_get("secret", namespace="proc/writer")

    pid = await kernel.spawn(snoop, capabilities=Capabilities(namespaces=("proc/snoop",)))
    status = await kernel.wait(pid)
    assert status.state == "failed" and "PermissionDenied" in status.error


async def test_memory_remember_recall_forget(kernel: Kernel) -> None:
    async def prog(ctx):
        await ctx.remember("Paris is the capital of France", {"topic": "geo"})
        mid = await ctx.remember("The kettle is in the kitchen", {"topic": "home"})
        await ctx.remember("Berlin is the capital of Germany", {"topic": "geo"})
        hits = await ctx.recall("capital of France", k=2)
        geo = await ctx.recall("kitchen kettle", where={"topic": "geo"})
        forgotten = await ctx.forget(mid)
        after = await ctx.recall("kettle kitchen")
        return [hits[0].text, len(geo), forgotten, after]

    assert await run(kernel, prog) == ["Paris is the capital of France", 0, True, []]


async def test_memory_bad_input(kernel: Kernel) -> None:
    async def prog(ctx):
        errors = []
        for call in (
            ctx.remember(""),
            ctx.recall(""),
            ctx.recall("x", k=0),
            ctx.remember("x" * 100_000),
        ):
            try:
                await call
            except Exception as exc:
                errors.append(type(exc).__name__)
        return errors

    assert await run(kernel, prog) == [
        "InvalidArgument",
        "InvalidArgument",
        "InvalidArgument",
        "RequestTooLarge",
    ]


async def test_send_receive_by_name_and_timeout(kernel: Kernel) -> None:
    async def inbox(ctx):
        first = await ctx.receive(timeout=5)
        none = await ctx.receive(timeout=0.05)
        return [first.payload, first.sender, none]

    pid = await kernel.spawn(inbox, name="inbox")

    async def sender(ctx):
        await ctx.send("inbox", {"hi": 1})
        return ctx.pid

    spid = (await kernel.run(sender)).result
    assert (await kernel.wait(pid)).result == [{"hi": 1}, spid, None]


async def test_send_to_unknown_process(kernel: Kernel) -> None:
    async def prog(ctx):
        try:
            await ctx.send("nobody", 1)
        except UnknownProcess:
            return "unknown"

    assert await run(kernel, prog) == "unknown"


async def test_publish_subscribe(kernel: Kernel) -> None:
    async def listener(ctx):
        await ctx.subscribe("news")
        await ctx.send("boss", "ready")
        env = await ctx.receive(timeout=5)
        return [env.topic, env.payload]

    async def boss(ctx, n):
        for _ in range(n):
            await ctx.receive(timeout=5)
        return await ctx.publish("news", "markets up")

    bpid = await kernel.spawn(boss, {"n": 2}, name="boss")
    l1, l2 = await kernel.spawn(listener), await kernel.spawn(listener)
    assert (await kernel.wait(bpid)).result == 2
    assert (await kernel.wait(l1)).result == ["news", "markets up"]
    assert (await kernel.wait(l2)).result == ["news", "markets up"]


async def test_request_reply_and_timeout(kernel: Kernel) -> None:
    async def server(ctx):
        env = await ctx.receive(timeout=5)
        await ctx.reply(env, {"sum": sum(env.payload)})

    spid = await kernel.spawn(server, name="server")

    async def client(ctx):
        r = await ctx.request("server", [1, 2, 3], timeout=5)
        try:
            await ctx.request("server", [1], timeout=0.1)  # server has exited
        except SyscallTimeout:
            return [r.payload, "timeout"]

    assert await run(kernel, client) == [{"sum": 6}, "timeout"]
    await kernel.wait(spid)


async def test_reply_only_to_own_messages(kernel: Kernel) -> None:
    async def a(ctx):
        mid = await ctx.send("b", "x")
        await asyncio.sleep(0.05)
        try:
            await ctx.reply(mid, "forged")
        except PermissionDenied:
            return "denied"

    async def b(ctx):
        await ctx.receive(timeout=5)

    await kernel.spawn(b, name="b")
    assert await run(kernel, a) == "denied"


async def test_spawn_children_capabilities_and_kill(kernel: Kernel) -> None:
    async def child(ctx):
        await ctx.sleep(10)

    async def parent(ctx):
        pid = await ctx.spawn(child, capabilities=Capabilities(tools=("add",)))
        killed = await ctx.kill(pid)
        status = await ctx.wait(pid)
        try:
            await ctx.spawn(child, capabilities=Capabilities(tools=("fail",)))
        except PermissionDenied as exc:
            return [killed, status.state, "denied", "fail" in exc.message]

    pid = await kernel.spawn(parent, capabilities=Capabilities(tools=("add",)))
    assert (await kernel.wait(pid)).result == [True, "killed", "denied", True]


async def test_cannot_kill_unrelated_process(kernel: Kernel) -> None:
    async def victim(ctx):
        await ctx.sleep(10)

    vpid = await kernel.spawn(victim)

    async def attacker(ctx, pid):
        try:
            await ctx.kill(pid)
        except PermissionDenied:
            return "denied"

    assert await run(kernel, attacker, args={"pid": vpid}) == "denied"
    await kernel.kill(vpid)


async def test_wait_timeout_and_unknown(kernel: Kernel) -> None:
    async def slow(ctx):
        await ctx.sleep(10)

    spid = await kernel.spawn(slow)

    async def prog(ctx, pid):
        out = []
        try:
            await ctx.wait(pid, timeout=0.05)
        except SyscallTimeout:
            out.append("timeout")
        try:
            await ctx.wait(12345)
        except UnknownProcess:
            out.append("unknown")
        return out

    assert await run(kernel, prog, args={"pid": spid}) == ["timeout", "unknown"]
    await kernel.kill(spid)


async def test_tool_errors_are_observations(kernel: Kernel) -> None:
    async def prog(ctx):
        ok = await ctx.tool("add", a=2, b=3)
        bad = await ctx.tool("add", a="two", b=3)
        unknown = await ctx.tool("ad", a=1)
        raised = await ctx.tool("fail", message="nope")
        return (
            [r.ok for r in (ok, bad, unknown, raised)],
            [r.error_type for r in (bad, unknown, raised)],
            ok.output,
            unknown.error,
        )

    oks, types, output, hint = await run(kernel, prog)
    assert oks == [True, False, False, False]
    assert types == ["InvalidArgument", "UnknownTool", "ToolFailed"]
    assert output == 5 and "add" in hint  # suggests the close match


async def test_tools_run_concurrently_without_a_global_lock(make_kernel) -> None:
    from llmagentos import tool

    @tool
    def slow(i: int) -> int:
        """Sleep a little."""
        import time

        time.sleep(0.2)
        return i

    kernel = await make_kernel(tools=[slow])

    async def prog(ctx, i):
        return (await ctx.tool("slow", i=i)).output

    loop = asyncio.get_running_loop()
    t0 = loop.time()
    pids = [await kernel.spawn(prog, {"i": i}) for i in range(4)]
    results = [(await kernel.wait(p)).result for p in pids]
    assert results == [0, 1, 2, 3]
    assert loop.time() - t0 < 0.6


async def test_model_errors_are_typed(make_kernel) -> None:
    small = FunctionModel(lambda m, r: "ok")
    small.context_window = 20
    kernel = await make_kernel(models={"small": small})

    async def prog(ctx):
        out = []
        for kwargs in ({"model": "missing"}, {"max_tokens": 0}, {"max_tokens": 10**9}):
            try:
                await ctx.chat("hi", **kwargs)
            except (UnknownModel, InvalidArgument) as exc:
                out.append(type(exc).__name__)
        try:
            await ctx.chat("word " * 200)
        except RequestTooLarge:
            out.append("RequestTooLarge")
        try:
            await ctx.chat([])
        except InvalidArgument:
            out.append("empty")
        return out

    assert await run(kernel, prog) == [
        "UnknownModel",
        "InvalidArgument",
        "InvalidArgument",
        "RequestTooLarge",
        "empty",
    ]


async def test_streaming_chat(kernel: Kernel) -> None:
    async def prog(ctx):
        chunks = [c async for c in ctx.stream("one two three")]
        final = chunks[-1]
        return ["".join(c.delta for c in chunks), final.finish_reason]

    text, reason = await run(kernel, prog)
    assert text == "echo: one two three" and reason == "stop"


async def test_now_and_sleep(kernel: Kernel) -> None:
    async def prog(ctx):
        t0 = await ctx.now()
        await ctx.sleep(0.05)
        t1 = await ctx.now()
        return t1 - t0

    assert await run(kernel, prog) >= 0.05


async def test_journal_records_every_call(kernel: Kernel) -> None:
    async def prog(ctx):
        await ctx.chat("hi")
        await ctx.tool("add", a=1, b=1)
        await ctx.kv_put("k", 1)
        try:
            await ctx.read_file("missing")
        except NotFound:
            pass

    status = await kernel.run(prog)
    rows = kernel.db.query(
        "SELECT seq, kind, status FROM journal WHERE pid = ? ORDER BY seq", (status.pid,)
    )
    assert [(r["seq"], r["kind"], r["status"]) for r in rows] == [
        (0, "llm", "done"),
        (1, "tool", "done"),
        (2, "storage", "done"),
        (3, "storage", "error"),
    ]


async def test_tool_result_observation_text() -> None:
    assert ToolResult("t", True, {"a": 1}).as_observation() == '{"a": 1}'
    assert ToolResult("t", False, error="bad", error_type="X").as_observation() == "ERROR (X): bad"
