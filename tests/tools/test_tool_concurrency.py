"""Concurrency: independent tools overlap, limits hold, exclusive tools run alone."""

from __future__ import annotations

import asyncio
import threading
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from llmagentos.tools import ReadWriteLock, ToolContext, ToolRegistry, tool


class Gauge:
    """Counts tools running at once (from threads or the loop) and remembers the worst."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = 0
        self.exclusive = 0
        self.peak = 0
        self.violations: list[str] = []

    def enter(self, exclusive: bool) -> None:
        with self._lock:
            if self.exclusive or (exclusive and self.running):
                self.violations.append(f"overlap entering (exclusive={exclusive})")
            self.running += 1
            self.exclusive += exclusive
            self.peak = max(self.peak, self.running)

    def leave(self, exclusive: bool) -> None:
        with self._lock:
            self.running -= 1
            self.exclusive -= exclusive


async def test_independent_sync_tools_overlap(ctx: ToolContext) -> None:
    @tool
    def sleepy(n: int) -> int:
        time.sleep(0.2)
        return n

    async with ToolRegistry([sleepy]) as reg:
        start = time.monotonic()
        results = await asyncio.gather(
            *(reg.invoke("sleepy", {"n": i}, context=ctx) for i in range(4))
        )
        elapsed = time.monotonic() - start
    assert [r.output for r in results] == [0, 1, 2, 3]
    assert elapsed < 0.5, f"4 x 0.2 s sleeps took {elapsed:.2f} s: calls were serialised"


async def test_per_tool_concurrency_limit(ctx: ToolContext) -> None:
    limited, free = Gauge(), Gauge()

    @tool(concurrency=2)
    def capped() -> None:
        limited.enter(False)
        time.sleep(0.03)
        limited.leave(False)

    @tool(concurrency=3)
    async def capped_async() -> None:
        free.enter(False)
        await asyncio.sleep(0.01)
        free.leave(False)

    async with ToolRegistry([capped, capped_async]) as reg:
        calls = [reg.invoke("capped", {}, context=ctx) for _ in range(8)]
        calls += [reg.invoke("capped_async", {}, context=ctx) for _ in range(12)]
        results = await asyncio.gather(*calls)
    assert all(r.ok for r in results)
    assert limited.peak == 2
    assert free.peak == 3


async def test_exclusive_tool_is_not_starved(ctx: ToolContext) -> None:
    order: list[str] = []

    @tool
    async def reader(tag: str) -> None:
        order.append(f"start {tag}")
        await asyncio.sleep(0.05)

    @tool(exclusive=True)
    async def writer() -> None:
        order.append("start writer")

    async with ToolRegistry([reader, writer]) as reg:
        first = asyncio.create_task(reg.invoke("reader", {"tag": "a"}, context=ctx))
        await asyncio.sleep(0.01)
        wrote = asyncio.create_task(reg.invoke("writer", {}, context=ctx))
        await asyncio.sleep(0.01)
        # Readers arriving after a waiting writer queue behind it.
        later = asyncio.create_task(reg.invoke("reader", {"tag": "b"}, context=ctx))
        await asyncio.gather(first, wrote, later)
    assert order == ["start a", "start writer", "start b"]


CALLS = st.lists(
    st.tuples(st.booleans(), st.booleans(), st.integers(0, 3)),  # exclusive, sync, ms
    min_size=2,
    max_size=12,
)


@settings(max_examples=30, deadline=None)
@given(CALLS)
def test_exclusive_tools_never_overlap(calls: list[tuple[bool, bool, int]]) -> None:
    gauge = Gauge()

    def body(exclusive: bool, ms: int) -> None:
        gauge.enter(exclusive)
        time.sleep(ms / 1000)
        gauge.leave(exclusive)

    async def abody(exclusive: bool, ms: int) -> None:
        gauge.enter(exclusive)
        await asyncio.sleep(ms / 1000)
        gauge.leave(exclusive)

    @tool
    def shared_sync(ms: int) -> None:
        body(False, ms)

    @tool(exclusive=True)
    def excl_sync(ms: int) -> None:
        body(True, ms)

    @tool
    async def shared_async(ms: int) -> None:
        await abody(False, ms)

    @tool(exclusive=True)
    async def excl_async(ms: int) -> None:
        await abody(True, ms)

    tools = [shared_sync, excl_sync, shared_async, excl_async]

    async def run() -> list[bool]:
        ctx = ToolContext(pid=1, call_id="c", idempotency_key="k")
        async with ToolRegistry(tools) as reg:
            jobs = []
            for exclusive, sync, ms in calls:
                name = ("excl" if exclusive else "shared") + ("_sync" if sync else "_async")
                jobs.append(reg.invoke(name, {"ms": ms}, context=ctx))
            return [r.ok for r in await asyncio.gather(*jobs)]

    assert all(asyncio.run(run()))
    assert gauge.violations == []
    assert gauge.running == 0


async def test_read_write_lock_releases_on_cancel() -> None:
    lock = ReadWriteLock()
    await lock.acquire_read()
    writer = asyncio.create_task(lock.acquire_write())
    await asyncio.sleep(0)
    reader = asyncio.create_task(lock.acquire_read())
    await asyncio.sleep(0)
    assert not reader.done()  # queued behind the waiting writer
    writer.cancel()
    await asyncio.sleep(0)
    await asyncio.wait_for(reader, 1)  # the writer gave up, so the reader gets in
    assert lock.readers == 2 and not lock.writer
    lock.release_read()
    lock.release_read()
    await asyncio.wait_for(lock.acquire_write(), 1)
    assert lock.writer
    lock.release_write()
