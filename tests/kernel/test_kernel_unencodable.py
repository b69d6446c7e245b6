"""Syscall arguments the journal cannot encode are the caller's `InvalidArgument`."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from llmagentos import Kernel
from llmagentos.errors import InvalidArgument
from llmagentos.kernel import syscalls as sc
from llmagentos.kernel.process import ProcessState

CALLS = [
    (sc.KVPut("k", object()), "KVPut", "value"),
    (sc.Send(1, {"ids": {1, 2}}), "Send", "payload"),
    (sc.ToolInvoke("add", {"a": object(), "b": 1}), "ToolInvoke", "arguments"),
    (sc.Remember("a fact", metadata={"when": object()}), "Remember", "metadata"),
    (sc.Spawn("idle", args={"x": object()}), "Spawn", "args"),
]


@pytest.mark.parametrize(("call", "name", "field"), CALLS)
async def test_unencodable_arguments_are_typed_errors_and_the_process_goes_on(
    kernel: Kernel, call: sc.Syscall, name: str, field: str
) -> None:
    async def program(ctx: Any) -> list[Any]:
        try:
            await ctx.call(call)
        except InvalidArgument as exc:
            caught = [exc.message, exc.details]
        else:
            caught = ["no error"]
        await ctx.kv_put("after", 1)  # the next call works
        return [*caught, await ctx.kv_get("after")]

    status = await kernel.run(program)
    assert status.state == "done", status.error
    message, details, after = status.result
    assert message.startswith(f"{name}.{field} is not JSON-serialisable")
    assert details == {"call": name, "field": field}
    assert after == 1


async def test_an_uncaught_one_fails_the_process_with_the_typed_error(kernel: Kernel) -> None:
    async def program(ctx: Any) -> None:
        await ctx.kv_put("k", {1, 2, 3})

    status = await kernel.run(program)
    assert status.state == "failed"
    assert "InvalidArgument" in (status.error or "") and "KVPut.value" in (status.error or "")


async def refused_then_waits(ctx: Any) -> Any:
    try:
        await ctx.kv_put("bad", object())
    except InvalidArgument:
        await ctx.kv_put("refused", True)
    env = await ctx.receive(timeout=30)
    return [await ctx.kv_get("refused"), env.payload]


async def say(ctx: Any, to: int) -> None:
    await ctx.send(to, "go")


async def test_a_refused_call_replays_the_same_way_after_a_restart(make_kernel: Any) -> None:
    k1: Kernel = await make_kernel()
    pid = await k1.spawn(refused_then_waits)
    for _ in range(500):
        if k1.get(pid).state == ProcessState.WAITING and k1.get(pid).seq == 3:
            break
        await asyncio.sleep(0.01)
    else:
        pytest.fail("the program did not reach its receive")
    state = k1.config.state_dir
    await k1.shutdown()
    k2: Kernel = await make_kernel(state_dir=state)
    assert k2.get(pid).restarts == 1
    await k2.run(say, {"to": pid})
    status = await k2.wait(pid, timeout=10)
    assert status.state == "done", status.error
    assert status.result == [True, "go"]
