"""A multi-agent workload for the crash-recovery test: producers call a side-effecting tool
and message a consumer; the test SIGKILLs the kernel process midway and restarts it.

Run as a script: `python crash_workload.py STATE_DIR LEDGER` boots a kernel on STATE_DIR
(recovering whatever is unfinished), starts the root program if none ran yet, and exits
when every process has ended.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys

from llmagentos import Kernel, KernelConfig, ToolContext, tool

LEDGER = ""


@tool
def record_effect(item: str, ctx: ToolContext) -> str:
    """Apply an outside side effect, deduplicated by the kernel's idempotency key."""
    conn = sqlite3.connect(LEDGER, timeout=30, isolation_level=None)
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS invocations(item TEXT, key TEXT)")
        conn.execute("CREATE TABLE IF NOT EXISTS effects(key TEXT PRIMARY KEY, item TEXT)")
        conn.execute("INSERT INTO invocations VALUES (?, ?)", (item, ctx.idempotency_key))
        conn.execute("INSERT OR IGNORE INTO effects VALUES (?, ?)", (ctx.idempotency_key, item))
    finally:
        conn.close()
    return f"recorded {item}"


async def producer(ctx, index: int, count: int, consumer: str) -> int:
    for i in range(count):
        item = f"p{index}-{i}"
        result = await ctx.tool("record_effect", item=item)
        assert result.ok, result.error
        await ctx.send(consumer, {"item": item})
        await ctx.kv_put(f"sent/{index}", i + 1)
        await ctx.sleep(0.01)
    return count


def sync_producer(ctx, index: int, count: int, consumer: str) -> int:
    """The same producer as blocking code in a worker thread (the sync bridge)."""
    for i in range(count):
        item = f"p{index}-{i}"
        assert ctx.tool("record_effect", item=item).ok
        ctx.send(consumer, {"item": item})
        ctx.kv_put(f"sent/{index}", i + 1)
        ctx.sleep(0.01)
    return count


async def consumer(ctx, expected: int) -> list[str]:
    got: list[str] = []
    while len(got) < expected:
        env = await ctx.receive(timeout=60)
        if env is None:
            raise RuntimeError(f"only {len(got)} of {expected} messages arrived")
        got.append(env.payload["item"])
        await ctx.write_file("received.txt", "\n".join(got))
    return got


async def root(ctx, producers: int, count: int) -> dict:
    cpid = await ctx.spawn(
        "crash_workload:consumer", {"expected": producers * count}, name="consumer"
    )
    pids = []
    for i in range(producers):
        program = "crash_workload:sync_producer" if i == 0 else "crash_workload:producer"
        pids.append(
            await ctx.spawn(
                program, {"index": i, "count": count, "consumer": "consumer"}, name=f"producer-{i}"
            )
        )
    for pid in pids:
        status = await ctx.wait(pid)
        assert status.state == "done", status
    status = await ctx.wait(cpid)
    return {"received": status.result}


async def main(state_dir: str, producers: int, count: int) -> None:
    kernel = Kernel(KernelConfig(state_dir=state_dir), tools=[record_effect])
    async with kernel:
        if not kernel.ps():
            await kernel.spawn(
                "crash_workload:root", {"producers": producers, "count": count}, name="root"
            )
        await asyncio.gather(*(kernel.wait(p.pid) for p in kernel.ps()))
        # children spawned while we waited
        await asyncio.gather(*(kernel.wait(p.pid) for p in kernel.ps()))
    print("ALL DONE", flush=True)


if __name__ == "__main__":
    LEDGER = sys.argv[2]
    asyncio.run(main(sys.argv[1], int(sys.argv[3]), int(sys.argv[4])))
