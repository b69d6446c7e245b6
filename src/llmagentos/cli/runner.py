"""Boot a kernel for one CLI command and watch it with a live process table."""

from __future__ import annotations

import asyncio
from typing import Any

from rich.console import Console
from rich.live import Live

from llmagentos.access import ApprovalStore
from llmagentos.cli.display import info_rows, process_table
from llmagentos.cli.state import StateDir
from llmagentos.kernel.config import KernelConfig
from llmagentos.kernel.kernel import Kernel
from llmagentos.kernel.syscalls import ExitStatus
from llmagentos.storage.db import Database


async def watch(
    kernel: Kernel,
    until: asyncio.Future[Any] | asyncio.Task[Any],
    console: Console | None,
    title: str = "llmagentos",
) -> None:
    """Show the process table live until `until` is done."""
    if console is None:
        await asyncio.wait({until})
        return
    with Live(process_table([]), console=console, refresh_per_second=4) as live:
        while not until.done():
            live.update(process_table(info_rows(kernel.ps()), title=title))
            await asyncio.wait({until}, timeout=0.25)
        live.update(process_table(info_rows(kernel.ps()), title=title))
    console.print()


async def run_program(
    program: str,
    args: dict[str, Any],
    models: dict[str, str],
    scheduler: str,
    state_dir: str,
    recover: bool,
    console: Console | None,
) -> ExitStatus:
    """`llmagentos run`: resume unfinished processes, run `program`, wait for everything."""
    config = KernelConfig(state_dir=state_dir, scheduler=scheduler, recover=recover)
    kernel = Kernel(config, models=dict(models))
    async with kernel:
        recovered = [p.pid for p in kernel.ps(all=False)]
        if recovered and console is not None:
            console.print(f"resumed unfinished processes {recovered} from the journal")
        pid = await kernel.spawn(program, args)
        everything = asyncio.ensure_future(
            asyncio.gather(*(kernel.wait(p) for p in [*recovered, pid]))
        )
        await watch(kernel, everything, console, title=f"llmagentos run {program}")
        return await kernel.wait(pid)


def approval_store(state: StateDir) -> ApprovalStore:
    """An approvals view on a state directory's database (works while a kernel runs)."""
    db = Database(state.db_path).open()
    return ApprovalStore(db)
