"""Long-term memory through the kernel: namespaces and capabilities, errors, restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from llmagentos import Capabilities, Kernel
from llmagentos.kernel.process import ProcessState


async def ok(kernel: Kernel, fn: Any, **kw: Any) -> Any:
    status = await kernel.run(fn, **kw)
    assert status.state == "done", status.error
    return status.result


async def test_shared_namespaces_follow_capabilities(make_kernel: Callable[..., Any]) -> None:
    kernel = await make_kernel()

    async def writer(ctx: Any) -> str:
        return await ctx.remember("deploys happen on Thursdays", {"team": "ops"}, "shared/ops")

    await ok(kernel, writer)

    async def reader(ctx: Any) -> Any:
        hits = await ctx.recall("when do we deploy?", namespace="shared/ops")
        return [h.text for h in hits]

    member = Capabilities(namespaces=("shared/*",))
    assert await ok(kernel, reader, capabilities=member) == ["deploys happen on Thursdays"]
    outsider = await kernel.run(reader, capabilities=Capabilities(namespaces=()))
    assert outsider.state == "failed" and "PermissionDenied" in (outsider.error or "")


async def test_errors_are_typed_and_journaled(make_kernel: Callable[..., Any]) -> None:
    kernel = await make_kernel()

    async def prog(ctx: Any) -> Any:
        out = []
        for call in (
            ctx.recall("anything", namespace="shared/typo"),
            ctx.recall("x", where={"a": {"$like": 1}}),
            ctx.remember("x", ["metadata", "must", "be", "a", "dict"]),
            ctx.forget(""),
        ):
            try:
                await call
            except Exception as exc:
                out.append(type(exc).__name__)
        out.append(await ctx.recall("nothing stored yet"))
        out.append(await ctx.forget("no-such-id"))
        return out

    assert await ok(kernel, prog) == [
        "NotFound",
        "InvalidArgument",
        "InvalidArgument",
        "InvalidArgument",
        [],
        False,
    ]


async def remember_then_wait(ctx: Any) -> Any:
    mid = await ctx.remember("the launch code is 0000")
    env = await ctx.receive(timeout=30)
    hits = await ctx.recall("launch code")
    return [mid, env.payload, [h.id for h in hits]]


async def test_replay_after_restart_inserts_nothing_twice(make_kernel: Callable[..., Any]) -> None:
    kernel = await make_kernel()
    pid = await kernel.spawn(remember_then_wait)
    for _ in range(500):
        if kernel.get(pid).state is ProcessState.WAITING and kernel.get(pid).seq == 2:
            break
        await asyncio.sleep(0.01)
    state = kernel.config.state_dir
    await kernel.shutdown()
    again: Kernel = await make_kernel(state_dir=state)

    async def poke(ctx: Any) -> None:
        await ctx.send(pid, "go")

    await ok(again, poke)
    status = await again.wait(pid, timeout=30)
    mid, payload, hits = status.result
    assert payload == "go" and hits == [mid]  # recalled from an index rebuilt from SQLite
    assert again.db.query("SELECT count(*) FROM memories")[0][0] == 1
