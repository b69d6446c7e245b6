"""Boot a kernel for one CLI command and watch it with a live process table."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterable, Iterator
from typing import Any

from rich.console import Console
from rich.live import Live

from llmagentos.access import ApprovalStore, Policy
from llmagentos.cli.display import info_rows, process_table
from llmagentos.cli.state import StateDir
from llmagentos.errors import InvalidArgument, LLMAgentOSError
from llmagentos.kernel.config import KernelConfig
from llmagentos.kernel.kernel import Kernel
from llmagentos.kernel.programs import ProgramRegistry
from llmagentos.kernel.syscalls import ExitStatus
from llmagentos.storage.db import Database
from llmagentos.tools import Tool


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


def load_tools(refs: Iterable[str]) -> list[Any]:
    """Tools named by `module:attr` or `file.py:attr`; an attr may also be a list of tools."""
    # The program registry's resolver is reused so that `--tool prog.py:x` and the program
    # `prog.py:main` share one loaded module instead of executing the file twice.
    registry = ProgramRegistry()
    tools: list[Any] = []
    for ref in refs:
        if ":" not in ref:
            raise InvalidArgument(
                f"--tool {ref!r}: expected module:attr or file.py:attr (e.g. mypkg.tools:search)"
            )
        try:
            found = registry.resolve(ref)
        except LLMAgentOSError as exc:
            why = exc.message.removeprefix(f"program {ref!r}: ")
            raise InvalidArgument(f"--tool {ref!r}: {why}") from None
        items = list(found) if isinstance(found, list | tuple) else [found]
        for item in items:
            if not (isinstance(item, Tool) or callable(item)):
                raise InvalidArgument(
                    f"--tool {ref!r} is a {type(item).__name__}, not a tool or a function"
                )
        tools.extend(items)
    return tools


def load_policy(path: str | None) -> Policy | None:
    """The policy in a `.toml` / `.json` file, or None for the default (allow all)."""
    return None if path is None else Policy.from_file(path)


async def run_program(
    program: str,
    args: dict[str, Any],
    models: dict[str, str],
    scheduler: str,
    state_dir: str,
    recover: bool,
    console: Console | None,
    *,
    tools: list[Any] | None = None,
    policy: Policy | None = None,
) -> ExitStatus:
    """`llmagentos run`: resume unfinished processes, run `program`, wait for everything.

    Everything is the new process and the resumed ones, except resumed processes an
    operator holds suspended: those stay in the table for a later run instead of keeping
    this one waiting for a `resume` that may never come.
    """
    config = KernelConfig(state_dir=state_dir, scheduler=scheduler, recover=recover)
    kernel = Kernel(config, models=dict(models), tools=list(tools or []), policy=policy)
    _cancel_on_sigterm()
    async with kernel:
        recovered = [p.pid for p in kernel.ps(all=False)]
        if recovered and console is not None:
            console.print(f"resumed unfinished processes {recovered} from the journal")
        pid = await kernel.spawn(program, args)
        everything = asyncio.ensure_future(_settled(kernel, pid, recovered))
        try:
            await watch(kernel, everything, console, title=f"llmagentos run {program}")
        finally:
            everything.cancel()
        held = [p.pid for p in kernel.ps(all=False) if p.pid in recovered]
        if held and console is not None:
            console.print(
                f"left suspended: {held} (`llmagentos resume PID`, then run again to go on)"
            )
        return await kernel.wait(pid)


async def _settled(kernel: Kernel, pid: int, recovered: list[int]) -> None:
    """Until `pid` has ended and each of `recovered` has ended or is suspended."""
    await kernel.wait(pid)
    while True:
        live = {p.pid: p.state for p in kernel.ps(all=False)}
        if all(live.get(r, "suspended") == "suspended" for r in recovered):
            return
        await asyncio.sleep(0.1)


def _cancel_on_sigterm() -> None:
    """Let SIGTERM stop `run` like Ctrl-C: the kernel shuts down and releases its lock,
    and unfinished processes stay in the table to be resumed by the next `run`."""
    task = asyncio.current_task()
    if task is None:
        return
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)


@contextlib.contextmanager
def approval_store(state: StateDir) -> Iterator[ApprovalStore]:
    """An approvals view on a state directory's database (works while a kernel runs)."""
    db = Database(state.db_path).open()
    try:
        yield ApprovalStore(db)
    finally:
        db.close()
