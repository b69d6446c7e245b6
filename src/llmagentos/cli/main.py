"""The `llmagentos` command line."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import click
from rich.console import Console
from rich.live import Live

from llmagentos.cli.display import info_rows, process_table
from llmagentos.cli.state import StateDir
from llmagentos.errors import LLMAgentOSError

console = Console()
STATE_HELP = "OS state directory (database, journal, lock)."


def _state(path: str) -> StateDir:
    try:
        return StateDir(path)
    except LLMAgentOSError as exc:
        raise click.ClickException(exc.message) from None


def _parse_args(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--arg")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


@click.group()
@click.version_option(package_name="llmagentos")
def main() -> None:
    """llmagentos: an operating system for LLM agents."""


@main.command()
@click.argument("program")
@click.option("--arg", "args", multiple=True, help="Program argument KEY=VALUE (JSON values).")
@click.option("--model", "models", multiple=True, help="NAME=SPEC, e.g. gpt=openai:gpt-4o-mini.")
@click.option("--scheduler", default="las", type=click.Choice(["fifo", "rr", "priority", "las"]))
@click.option("--state-dir", default=".llmagentos", help=STATE_HELP)
@click.option("--no-recover", is_flag=True, help="Do not resume unfinished processes.")
@click.option("--quiet", is_flag=True, help="No live process table.")
def run(
    program: str,
    args: tuple[str, ...],
    models: tuple[str, ...],
    scheduler: str,
    state_dir: str,
    no_recover: bool,
    quiet: bool,
) -> None:
    """Run PROGRAM (file.py[:function], module:function, or an app) as a process."""
    from llmagentos.cli.runner import run_program

    model_map = dict(m.split("=", 1) for m in models if "=" in m)
    try:
        status = asyncio.run(
            run_program(
                program,
                _parse_args(args),
                model_map,
                scheduler,
                state_dir,
                not no_recover,
                None if quiet else console,
            )
        )
    except LLMAgentOSError as exc:
        raise click.ClickException(exc.message) from None
    console.print(f"[bold]pid {status.pid}[/] ended [bold]{status.state}[/]")
    if status.result is not None:
        console.print_json(data=status.result) if not isinstance(
            status.result, str
        ) else console.print(status.result)
    if status.error:
        console.print(f"[red]{status.error}[/]")
    sys.exit(0 if status.state == "done" else 1)


@main.command()
@click.option("--all", "-a", "show_all", is_flag=True, help="Include ended processes.")
@click.option("--state-dir", default=".llmagentos", help=STATE_HELP)
@click.option("--json", "as_json", is_flag=True)
def ps(show_all: bool, state_dir: str, as_json: bool) -> None:
    """List processes."""
    st = _state(state_dir)
    rows = st.processes(all=show_all)
    if as_json:
        click.echo(json.dumps(rows, default=str))
        return
    running = "running" if st.kernel_running() else "not running"
    console.print(process_table(rows, title=f"processes (kernel {running})"))


def _control(command: str, pid: int, state_dir: str) -> None:
    try:
        console.print(_state(state_dir).control(command, pid))
    except LLMAgentOSError as exc:
        raise click.ClickException(exc.message) from None


@main.command()
@click.argument("pid", type=int)
@click.option("--state-dir", default=".llmagentos", help=STATE_HELP)
def kill(pid: int, state_dir: str) -> None:
    """End process PID."""
    _control("kill", pid, state_dir)


@main.command()
@click.argument("pid", type=int)
@click.option("--state-dir", default=".llmagentos", help=STATE_HELP)
def suspend(pid: int, state_dir: str) -> None:
    """Hold process PID at its next system call."""
    _control("suspend", pid, state_dir)


@main.command()
@click.argument("pid", type=int)
@click.option("--state-dir", default=".llmagentos", help=STATE_HELP)
def resume(pid: int, state_dir: str) -> None:
    """Let a suspended process go on."""
    _control("resume", pid, state_dir)


@main.command()
@click.argument("pid", type=int)
@click.option("--state-dir", default=".llmagentos", help=STATE_HELP)
@click.option("--journal", "show_journal", is_flag=True, help="Show the syscall journal too.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines.")
def logs(pid: int, state_dir: str, show_journal: bool, follow: bool) -> None:
    """Show the log (and journal) of process PID."""
    st = _state(state_dir)
    try:
        st.process(pid)
    except LLMAgentOSError as exc:
        raise click.ClickException(exc.message) from None
    if show_journal:
        for e in st.journal(pid):
            took = f"{(e['ended_at'] - e['started_at']) * 1000:.1f}ms" if e["ended_at"] else "…"
            console.print(
                f"#{e['seq']:<4} {e['kind']:<8} {e['status']:<7} {took:>9}"
                f"  {_short(e['call'])} -> {_short(e['result'] or '')}"
            )
    last = 0
    while True:
        for line in st.logs(pid, after_id=last):
            last = line["id"]
            stamp = time.strftime("%H:%M:%S", time.localtime(line["ts"]))
            console.print(f"{stamp} [{line['level']}] {line['message']}", markup=False)
        if not follow or st.process(pid)["state"] in ("done", "failed", "killed"):
            break
        time.sleep(0.5)


def _short(text: str, n: int = 90) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= n else text[: n - 1] + "…"


@main.group()
def approvals() -> None:
    """Calls waiting for a person's decision."""


@approvals.command("list")
@click.option("--all", "-a", "show_all", is_flag=True, help="Include decided ones.")
@click.option("--state-dir", default=".llmagentos", help=STATE_HELP)
def approvals_list(show_all: bool, state_dir: str) -> None:
    from llmagentos.cli.runner import approval_store

    store = approval_store(_state(state_dir))
    rows = store.list(None if show_all else "pending")
    if not rows:
        console.print("no pending approvals" if not show_all else "no approvals")
    for a in rows:
        console.print(
            f"[bold]#{a.id}[/] pid {a.pid} ({a.program}) {a.kind} {a.target!r}"
            f" — {a.reason} [{a.status}]"
        )


def _decide(approval_id: int, approve: bool, note: str, state_dir: str) -> None:
    from llmagentos.cli.runner import approval_store

    try:
        a = approval_store(_state(state_dir)).decide(approval_id, approve, by="cli", note=note)
    except LLMAgentOSError as exc:
        raise click.ClickException(exc.message) from None
    console.print(f"approval #{a.id}: {a.status}")


@approvals.command("approve")
@click.argument("approval_id", type=int)
@click.option("--note", default="")
@click.option("--state-dir", default=".llmagentos", help=STATE_HELP)
def approvals_approve(approval_id: int, note: str, state_dir: str) -> None:
    """Let a waiting call go ahead."""
    _decide(approval_id, True, note, state_dir)


@approvals.command("reject")
@click.argument("approval_id", type=int)
@click.option("--note", default="")
@click.option("--state-dir", default=".llmagentos", help=STATE_HELP)
def approvals_reject(approval_id: int, note: str, state_dir: str) -> None:
    """Refuse a waiting call (the agent gets ApprovalRejected)."""
    _decide(approval_id, False, note, state_dir)


@main.command()
@click.option("--state-dir", default=".llmagentos/demo", help=STATE_HELP)
@click.option("--agents", default=6, show_default=True, help="How many worker agents.")
def demo(state_dir: str, agents: int) -> None:
    """The main job: a multi-agent run on the offline scripted model."""
    from llmagentos.apps.demo import run_demo

    asyncio.run(run_demo(state_dir=state_dir, workers=agents, console=console))


def live_table(console: Console) -> Live:
    return Live(process_table([]), console=console, refresh_per_second=4, transient=False)


__all__ = ["info_rows", "main"]
