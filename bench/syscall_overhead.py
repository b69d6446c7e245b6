"""Syscall overhead: many agents issuing model calls against a null backend.

Each agent issues the same prebuilt `LLMCall` record through `ctx.call` (what `ctx.chat`
does after it has built the record), so the figures are the kernel's cost per syscall:
access check and audit, accounting, scheduling, dispatch to the backend, and journaling.

Compares, in one run on one workload:
- `llmagentos` with the journal off (pure kernel overhead),
- `llmagentos+journal` (SQLite WAL journal with group commit),
- `aios-style`: a thread per agent, calls put on a queue that a scheduler thread polls on
  an interval, each call run in a new thread under one global lock — the design of AIOS's
  scheduler, rebuilt here so both run side by side on the same machine.

Prints a table and writes JSON (`--json PATH`): top-level `p50_us`, `p99_us`,
`syscalls_per_s` (journal off), `journal_p50_us`, `journal_p99_us`,
`journal_syscalls_per_s`, and `results[<baseline>][<metric>]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import queue
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from llmagentos import Kernel, KernelConfig
from llmagentos.kernel.syscalls import LLMCall
from llmagentos.llm.types import LLMRequest, Message
from llmagentos.testing import NullModel


def percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000.0


def summarise(latencies_ns: list[int], wall_s: float, **extra: Any) -> dict[str, Any]:
    return {
        "p50_us": round(percentile(latencies_ns, 0.50), 2),
        "p99_us": round(percentile(latencies_ns, 0.99), 2),
        "syscalls": len(latencies_ns),
        "wall_s": round(wall_s, 3),
        "syscalls_per_s": round(len(latencies_ns) / wall_s, 1),
        **extra,
    }


async def run_kernel(agents: int, calls: int, journal: bool, progress: Progress) -> dict[str, Any]:
    latencies: list[int] = []
    task = progress.add_task(f"llmagentos journal={'on' if journal else 'off'}", total=agents)

    call = LLMCall(LLMRequest(messages=(Message(role="user", content="ping"),), max_tokens=4))

    go = asyncio.Event()  # all agents start together, so spawning is not in the window

    async def agent(ctx: Any, n: int) -> None:
        await go.wait()
        for _ in range(n):
            t0 = time.perf_counter_ns()
            await ctx.call(call)
            latencies.append(time.perf_counter_ns() - t0)
        progress.advance(task)

    state = tempfile.mkdtemp(prefix="llmagentos-bench-")
    config = KernelConfig(state_dir=state, journal=journal, recover=False)
    async with Kernel(config, models={"null": NullModel(record=False)}) as kernel:
        pids = await asyncio.gather(*(kernel.spawn(agent, {"n": calls}) for _ in range(agents)))
        await asyncio.sleep(0.2)  # let every process reach the start line
        started = time.perf_counter()
        go.set()
        for pid in pids:
            status = await kernel.wait(pid)
            assert status.state == "done", status.error
        wall = time.perf_counter() - started
        commits = kernel.db.commits
    return summarise(latencies, wall, db_commits=commits)


def run_aios_style(agents: int, calls: int, poll_s: float, progress: Progress) -> dict[str, Any]:
    """A thread per agent; a scheduler thread wakes every `poll_s`, and runs each queued
    call in a fresh thread under one global lock (AIOS's FIFO scheduler design)."""
    backend = NullModel(record=False)
    request = LLMRequest(messages=(Message(role="user", content="ping"),), max_tokens=4)
    calls_q: queue.Queue[tuple[threading.Event, list[Any]]] = queue.Queue()
    lock = threading.Lock()
    stop = threading.Event()
    latencies: list[int] = []
    lat_lock = threading.Lock()
    task = progress.add_task(f"aios-style poll={poll_s * 1000:.0f}ms", total=agents)

    def execute(done: threading.Event, box: list[Any]) -> None:
        with lock:
            coro = backend.complete(request)
            try:
                coro.send(None)
            except StopIteration as stop_it:  # NullModel never suspends
                box.append(stop_it.value)
        done.set()

    def scheduler() -> None:
        while not stop.is_set():
            time.sleep(poll_s)
            while True:
                try:
                    done, box = calls_q.get_nowait()
                except queue.Empty:
                    break
                threading.Thread(target=execute, args=(done, box), daemon=True).start()

    go = threading.Event()

    def agent() -> None:
        go.wait()
        for _ in range(calls):
            t0 = time.perf_counter_ns()
            done, box = threading.Event(), []
            calls_q.put((done, box))
            done.wait()
            with lat_lock:
                latencies.append(time.perf_counter_ns() - t0)
        progress.advance(task)

    sched = threading.Thread(target=scheduler, daemon=True)
    sched.start()
    threads = [threading.Thread(target=agent, daemon=True) for _ in range(agents)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    started = time.perf_counter()
    go.set()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    stop.set()
    return summarise(latencies, wall, poll_s=poll_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--poll-ms", type=float, default=10.0, help="aios-style poll interval")
    parser.add_argument("--quick", action="store_true", help="100 agents x 20 calls")
    parser.add_argument("--json", type=Path, help="write results here")
    args = parser.parse_args()
    if args.quick:
        args.agents, args.calls = 100, 20
    console = Console()
    results: dict[str, dict[str, Any]] = {}
    with Progress(console=console, transient=True) as progress:
        results["llmagentos"] = asyncio.run(run_kernel(args.agents, args.calls, False, progress))
        results["llmagentos+journal"] = asyncio.run(
            run_kernel(args.agents, args.calls, True, progress)
        )
        results["aios-style"] = run_aios_style(
            args.agents, args.calls, args.poll_ms / 1000, progress
        )
    table = Table(
        title=f"syscall overhead: {args.agents} agents x {args.calls} model calls, null backend"
    )
    for col in ("baseline", "p50 µs", "p99 µs", "syscalls/s", "vs aios-style (syscalls/s)"):
        table.add_column(col, justify="right")
    base = results["aios-style"]["syscalls_per_s"]
    for name, r in results.items():
        table.add_row(
            name,
            f"{r['p50_us']:.1f}",
            f"{r['p99_us']:.1f}",
            f"{r['syscalls_per_s']:,.0f}",
            f"{r['syscalls_per_s'] / base:.1f}x",
        )
    console.print(table)
    out = {
        "benchmark": "syscall_overhead",
        "agents": args.agents,
        "calls_per_agent": args.calls,
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "p50_us": results["llmagentos"]["p50_us"],
        "p99_us": results["llmagentos"]["p99_us"],
        "syscalls_per_s": results["llmagentos"]["syscalls_per_s"],
        "journal_p50_us": results["llmagentos+journal"]["p50_us"],
        "journal_p99_us": results["llmagentos+journal"]["p99_us"],
        "journal_syscalls_per_s": results["llmagentos+journal"]["syscalls_per_s"],
        "results": results,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2))
        console.print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
