"""Journal compaction: ended processes lose their rows, live ones keep them and replay."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from llmagentos import Kernel
from llmagentos.kernel.process import ProcessState
from llmagentos.storage.compaction import compact
from llmagentos.storage.config import StorageConfig
from llmagentos.storage.db import Database


def add_process(c: Any, pid: int, state: str, ended_at: float | None) -> None:
    c.execute(
        "INSERT INTO processes(pid, name, program, args, caps, namespace, state, created_at,"
        " ended_at) VALUES (?, 'p', 'x:y', '{}', '{}', 'proc/p', ?, 0, ?)",
        (pid, state, ended_at),
    )
    for seq in range(3):
        c.execute(
            "INSERT INTO journal(pid, seq, kind, call, status, started_at)"
            " VALUES (?, ?, 'clock', '{}', 'done', 0)",
            (pid, seq),
        )


def test_only_processes_that_ended_long_enough_ago_are_compacted(db: Database) -> None:
    now = time.time()

    def setup(c: Any) -> None:
        add_process(c, 1, "done", now - 7200)
        add_process(c, 2, "killed", now - 10)  # ended recently: kept for `logs`
        add_process(c, 3, "running", None)
        add_process(c, 4, "failed", now - 4000)

    db.write_sync(setup)
    report = db.write_sync(lambda c: compact(c, now - 3600))
    assert report.processes == 2 and report.rows == {"journal": 6, "context_summaries": 0}
    assert report.total == 6
    left = db.query("SELECT DISTINCT pid FROM journal ORDER BY pid")
    assert [r[0] for r in left] == [2, 3]
    again = db.write_sync(lambda c: compact(c, now - 3600))
    assert again.total == 0  # idempotent


async def ticker(ctx: Any, n: int) -> int:
    for _ in range(n):
        await ctx.now()
    env = await ctx.receive(timeout=30)
    return int(env.payload)


async def test_kernel_compacts_ended_processes_and_live_ones_still_replay(
    make_kernel: Callable[..., Any],
) -> None:
    kernel: Kernel = await make_kernel()

    async def short(ctx: Any) -> None:
        for _ in range(20):
            await ctx.now()

    for _ in range(3):
        assert (await kernel.run(short)).state == "done"
    live = await kernel.spawn(ticker, {"n": 5})
    while not (kernel.get(live).state is ProcessState.WAITING and kernel.get(live).seq == 6):
        await asyncio.sleep(0.01)
    await kernel.jbuf.durable()
    report = await kernel.compactor.run(keep_s=0)
    assert report.processes == 3 and report.rows["journal"] == 60
    assert {r[0] for r in kernel.db.query("SELECT DISTINCT pid FROM journal")} == {live}

    state = kernel.config.state_dir
    await kernel.shutdown()
    again: Kernel = await make_kernel(state_dir=state)

    async def poke(ctx: Any) -> None:
        await ctx.send(live, 7)

    await again.run(poke)
    status = await again.wait(live, timeout=30)
    assert status.state == "done" and status.result == 7


async def test_the_control_loop_compacts_on_its_own(make_kernel: Callable[..., Any]) -> None:
    storage = StorageConfig(compact_interval_s=0.0, compact_min_rows=1, compact_keep_s=0.0)
    kernel: Kernel = await make_kernel(storage=storage, control_poll_s=0.01)

    async def short(ctx: Any) -> None:
        await ctx.now()

    await kernel.run(short)
    for _ in range(500):
        if kernel.compactor.reports and not kernel.db.query("SELECT 1 FROM journal"):
            break
        await asyncio.sleep(0.01)
    assert kernel.compactor.reports and kernel.compactor.reports[-1].rows["journal"] >= 1
    assert kernel.db.query("SELECT count(*) FROM journal")[0][0] == 0
