"""`ToolRegistry`: the catalogue, and `invoke` turning every problem into a `ToolResult`."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import sys
import threading
import time

import pytest
from pydantic import BaseModel

from llmagentos.errors import InvalidArgument, InvalidState, UnknownTool
from llmagentos.kernel.syscalls import ToolInvoke, ToolResult
from llmagentos.records import dumps
from llmagentos.tools import ToolContext, ToolRegistry, tool


@tool
def search(query: str, limit: int = 3) -> list[str]:
    """Search the notes."""
    return [f"{query}-{i}" for i in range(limit)]


@tool
def summarize(text: str) -> str:
    """Summarize a text."""
    return text[:10]


async def test_catalogue(registry: ToolRegistry) -> None:
    registry.register(summarize)
    registry.register(search)
    plain = registry.register(lambda_free_plain)
    assert plain.name == "lambda_free_plain"
    assert registry.names() == ("lambda_free_plain", "search", "summarize")
    assert "search" in registry and "nope" not in registry and len(registry) == 3
    assert [s.name for s in registry.specs()] == list(registry.names())
    assert [s.name for s in registry.specs(["summarize", "search"])] == ["summarize", "search"]
    with pytest.raises(InvalidState, match="already registered"):
        registry.register(search)
    registry.register(search, replace=True)
    assert registry.unregister("search") is search
    assert "search" not in registry


def lambda_free_plain(x: int) -> int:
    """A plain function registered without `@tool`."""
    return x


async def test_unknown_tool_suggests_close_names(registry: ToolRegistry) -> None:
    registry.register(search)
    registry.register(summarize)
    with pytest.raises(UnknownTool) as info:
        registry.get("serach")
    assert info.value.message == "unknown tool 'serach'; did you mean 'search'?"
    assert info.value.details == {"suggestions": ["search"]}
    with pytest.raises(UnknownTool, match="available tools: search, summarize"):
        registry.get("translate")
    with pytest.raises(UnknownTool):
        registry.specs(["search", "translate"])


async def test_invoke_returns_results(registry: ToolRegistry, ctx: ToolContext) -> None:
    registry.register(search)
    result = await registry.invoke("search", {"query": "ram", "limit": 2}, context=ctx)
    assert result == ToolResult(name="search", ok=True, output=["ram-0", "ram-1"])
    handled = await registry.handle(ToolInvoke("search", {"query": "x", "limit": 1}), context=ctx)
    assert handled.output == ["x-0"]


async def test_invoke_never_raises_for_call_problems(
    registry: ToolRegistry, ctx: ToolContext
) -> None:
    registry.register(search)
    unknown = await registry.invoke("serach", {}, context=ctx)
    assert (unknown.ok, unknown.error_type) == (False, "UnknownTool")
    assert unknown.error is not None and "did you mean 'search'" in unknown.error
    invalid = await registry.invoke("search", {"limit": "many"}, context=ctx)
    assert (invalid.ok, invalid.error_type) == (False, "InvalidArgument")
    assert invalid.error == (
        "invalid arguments for tool 'search':\n"
        "- query: missing required argument (expected string)\n"
        '- limit: expected integer; got "many" (string): '
        "Input should be a valid integer, unable to parse string as an integer"
    )
    assert invalid.as_observation().startswith("ERROR (InvalidArgument): invalid arguments")
    not_object = await registry.invoke("search", ["ram"], context=ctx)  # type: ignore[arg-type]
    assert not_object.error_type == "InvalidArgument"


async def test_tool_exceptions_become_tool_failed(registry: ToolRegistry, ctx: ToolContext) -> None:
    @tool
    def boom(kind: str) -> None:
        if kind == "value":
            raise ValueError("the disk is on fire")
        if kind == "timeout":
            raise TimeoutError("socket timed out")
        if kind == "exit":
            sys.exit(3)
        raise InvalidArgument("kind must be value, timeout or exit")

    @tool
    async def aboom() -> None:
        raise KeyError("k")

    registry.register(boom)
    registry.register(aboom)
    results = [
        await registry.invoke("boom", {"kind": k}, context=ctx) for k in ("value", "timeout")
    ]
    assert [(r.ok, r.error_type, r.error) for r in results] == [
        (False, "ToolFailed", "ValueError: the disk is on fire"),
        (False, "ToolFailed", "TimeoutError: socket timed out"),
    ]
    exited = await registry.invoke("boom", {"kind": "exit"}, context=ctx)
    assert (exited.error_type, exited.error) == ("ToolFailed", "SystemExit: 3")
    deliberate = await registry.invoke("boom", {"kind": "?"}, context=ctx)
    assert (deliberate.error_type, deliberate.error) == (
        "InvalidArgument",
        "kind must be value, timeout or exit",
    )
    failed = await registry.invoke("aboom", {}, context=ctx)
    assert (failed.error_type, failed.error) == ("ToolFailed", "KeyError: 'k'")


async def test_context_is_injected(registry: ToolRegistry, ctx: ToolContext) -> None:
    seen: list[ToolContext] = []

    @tool
    def sync_ctx(note: str, ctx: ToolContext) -> str:
        seen.append(ctx)
        return note

    @tool
    async def async_ctx(context: ToolContext) -> str:
        seen.append(context)
        return context.idempotency_key

    registry.register(sync_ctx)
    registry.register(async_ctx)
    assert (await registry.invoke("sync_ctx", {"note": "n"}, context=ctx)).output == "n"
    assert (await registry.invoke("async_ctx", {}, context=ctx)).output == "7:1"
    smuggled = await registry.invoke("async_ctx", {"context": {"pid": 1}}, context=ctx)
    assert smuggled.error_type == "InvalidArgument"  # the model cannot forge a context
    assert seen == [ctx, ctx]


class Weather(BaseModel):
    city: str
    celsius: float


@dataclasses.dataclass
class Reading:
    value: float
    raw: bytes


class Opaque:
    def __str__(self) -> str:
        return "<opaque thing>"


async def test_outputs_are_made_json(registry: ToolRegistry, ctx: ToolContext) -> None:
    outputs = {
        "model": Weather(city="Oslo", celsius=-3.5),
        "dataclass": Reading(1.5, b"ok"),
        "binary": b"\xff\x00",
        "nan": [math.nan, -math.inf],
        "set": {3},
        "other": Opaque(),
        "nested": {"k": (Opaque(), 1)},
    }

    @tool
    def produce(kind: str) -> object:
        return outputs[kind]

    registry.register(produce)
    got = {k: (await registry.invoke("produce", {"kind": k}, context=ctx)).output for k in outputs}
    assert got == {
        "model": {"city": "Oslo", "celsius": -3.5},
        "dataclass": {"value": 1.5, "raw": "ok"},
        "binary": "_wA=",
        "nan": ["NaN", "-Infinity"],
        "set": [3],
        "other": "<opaque thing>",
        "nested": {"k": ["<opaque thing>", 1]},
    }
    for value in got.values():  # and the result record journals cleanly
        dumps(ToolResult(name="produce", ok=True, output=value))


async def test_sync_timeout_returns_at_once(registry: ToolRegistry, ctx: ToolContext) -> None:
    release = threading.Event()
    finished = threading.Event()

    @tool(timeout_s=0.1, concurrency=1)
    def stuck() -> str:
        release.wait(5)
        finished.set()
        return "late"

    registry.register(stuck)
    start = time.monotonic()
    result = await registry.invoke("stuck", {}, context=ctx)
    assert time.monotonic() - start < 0.5
    assert (result.ok, result.error_type) == (False, "SyscallTimeout")
    assert result.error == "tool 'stuck' timed out after 0.1 s"
    # The abandoned thread still holds the only slot, so the next call cannot start.
    again = await registry.invoke("stuck", {}, context=ctx, timeout_s=0.1)
    assert again.error_type == "SyscallTimeout" and not finished.is_set()
    release.set()
    await asyncio.sleep(0.05)
    assert finished.is_set()
    assert (await registry.invoke("stuck", {}, context=ctx)).output == "late"


async def test_async_timeout_cancels_the_tool(registry: ToolRegistry, ctx: ToolContext) -> None:
    cancelled = asyncio.Event()

    @tool
    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    registry.register(slow)
    start = time.monotonic()
    result = await registry.invoke("slow", {}, context=ctx, timeout_s=0.05)
    assert time.monotonic() - start < 0.5
    assert result.error_type == "SyscallTimeout" and cancelled.is_set()


async def test_time_limits_combine(ctx: ToolContext) -> None:
    ran: list[str] = []

    @tool(timeout_s=0.05)
    async def nap(seconds: float) -> str:
        ran.append("nap")
        await asyncio.sleep(seconds)
        return "rested"

    async with ToolRegistry([nap], default_timeout_s=0.01) as reg:
        # The tool's own limit beats the registry's default; the call's beats the tool's.
        assert (await reg.invoke("nap", {"seconds": 0.02}, context=ctx)).ok
        assert (await reg.invoke("nap", {"seconds": 0.1}, context=ctx)).error_type == (
            "SyscallTimeout"
        )
        assert (await reg.invoke("nap", {"seconds": 0.1}, context=ctx, timeout_s=1)).ok
        # The deadline caps everything, and a passed deadline does not even start the tool.
        soon = dataclasses.replace(ctx, deadline=time.time() + 0.05)
        late = await reg.invoke("nap", {"seconds": 0.5}, context=soon, timeout_s=5)
        assert late.error_type == "SyscallTimeout"
        ran.clear()
        past = dataclasses.replace(ctx, deadline=time.time() - 1)
        expired = await reg.invoke("nap", {"seconds": 0}, context=past)
        assert expired.error == "tool 'nap' was called after its deadline" and ran == []


async def test_closed_registry_refuses_calls(ctx: ToolContext) -> None:
    reg = ToolRegistry([search])
    await reg.aclose()
    result = await reg.invoke("search", {"query": "x"}, context=ctx)
    assert (result.error_type, result.error) == ("InvalidState", "the tool registry is closed")


async def test_close_while_a_call_waits_for_its_slot(ctx: ToolContext) -> None:
    gate = threading.Event()

    @tool(concurrency=1)
    def gated() -> str:
        gate.wait(5)
        return "done"

    reg = ToolRegistry([gated])
    first = asyncio.create_task(reg.invoke("gated", {}, context=ctx))
    await asyncio.sleep(0.02)
    second = asyncio.create_task(reg.invoke("gated", {}, context=ctx))
    await asyncio.sleep(0.02)
    await reg.aclose()
    gate.set()
    assert (await first).output == "done"  # already running: it finishes
    late = await second
    assert (late.error_type, late.error) == ("InvalidState", "the tool registry is closed")
