"""The `llmagentos` command line."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.json import JSON
from rich.markup import escape

from llmagentos.cli.display import process_table
from llmagentos.cli.state import TERMINAL, StateDir
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


def _parse_models(pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, spec = pair.partition("=")
        if not sep or not name or not spec:
            raise click.BadParameter(
                f"expected NAME=SPEC (e.g. gpt=openai:gpt-4o-mini), got {pair!r}",
                param_hint="--model",
            )
        out[name] = spec
    return out


def _print_result(result: Any) -> None:
    # Program output is data, not markup: "[/x]" in a result must print as written, and
    # long lines must not be re-wrapped at the terminal width.
    if isinstance(result, str):
        console.print(result, markup=False, highlight=False, soft_wrap=True)
    else:
        console.print(JSON.from_data(result), soft_wrap=True)


@click.group()
@click.version_option(package_name="llmagentos")
def main() -> None:
    """llmagentos: an operating system for LLM agents."""


@main.command()
@click.argument("program")
@click.option("--arg", "args", multiple=True, help="Program argument KEY=VALUE (JSON values).")
@click.option("--model", "models", multiple=True, help="NAME=SPEC, e.g. gpt=openai:gpt-4o-mini.")
@click.option(
    "--tool",
    "tools",
    multiple=True,
    metavar="MODULE:ATTR",
    help="Register a tool (or a list of tools) by reference, e.g. llmagentos.tools:calculator.",
)
@click.option(
    "--policy",
    type=click.Path(dir_okay=False),
    help="Access policy file (.toml or .json): allow / deny / ask rules.",
)
@click.option("--scheduler", default="las", type=click.Choice(["fifo", "rr", "priority", "las"]))
@click.option("--state-dir", default=".llmagentos", help=STATE_HELP)
@click.option("--no-recover", is_flag=True, help="Do not resume unfinished processes.")
@click.option("--quiet", is_flag=True, help="No live process table.")
def run(
    program: str,
    args: tuple[str, ...],
    models: tuple[str, ...],
    tools: tuple[str, ...],
    policy: str | None,
    scheduler: str,
    state_dir: str,
    no_recover: bool,
    quiet: bool,
) -> None:
    """Run PROGRAM (file.py[:function], module:function, or an app) as a process.

    Unfinished processes in the state directory are resumed first, and the command waits
    for them too. It exits 0 when PROGRAM ends done and 1 when it fails or is killed.

    \b
    Example:
      llmagentos run agents.py:main --arg topic=ram --model gpt=openai:gpt-4o-mini \\
        --tool agents.py:search --policy policy.toml
    """
    from llmagentos.cli.runner import load_policy, load_tools, run_program

    program_args = _parse_args(args)
    model_map = _parse_models(models)
    try:
        status = asyncio.run(
            run_program(
                program,
                program_args,
                model_map,
                scheduler,
                state_dir,
                not no_recover,
                None if quiet else console,
                tools=load_tools(tools),
                policy=load_policy(policy),
            )
        )
    except LLMAgentOSError as exc:
        raise click.ClickException(exc.message) from None
    except (KeyboardInterrupt, asyncio.CancelledError) as stop:
        # Ctrl-C or SIGTERM: the kernel has shut down cleanly, nothing ended, and the
        # journal holds every call made so far.
        click.echo(
            f"stopped; unfinished processes resume at the next `llmagentos run"
            f" --state-dir {state_dir}`",
            err=True,
        )
        sys.exit(130 if isinstance(stop, KeyboardInterrupt) else 143)
    console.print(f"[bold]pid {status.pid}[/] ended [bold]{status.state}[/]")
    if status.result is not None:
        _print_result(status.result)
    if status.error:
        console.print(f"[red]{escape(status.error)}[/]", soft_wrap=True)
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
        click.echo(json.dumps([_decoded(r) for r in rows], default=str))
        return
    running = "running" if st.kernel_running() else "not running"
    console.print(process_table(rows, title=f"processes (kernel {running})"))


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    """A process row with its JSON columns as values, for `--json` readers."""
    out = dict(row)
    for key in ("args", "result", "caps"):
        if isinstance(out.get(key), str):
            try:
                out[key] = json.loads(out[key])
            except json.JSONDecodeError:
                pass
    if isinstance(out.get("caps"), dict):
        out["caps"].pop("$t", None)
    return out


WAIT_OPTION = click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds to wait for a running kernel's answer (the command stays queued after).",
)


def _control(command: str, pid: int, state_dir: str, wait_s: float) -> None:
    try:
        outcome = _state(state_dir).control(command, pid, wait_s=wait_s)
    except LLMAgentOSError as exc:
        raise click.ClickException(exc.message) from None
    # The running kernel answers a refused command with "error: ..." (e.g. resuming a
    # process that is not suspended): that is a failure of this command too.
    if outcome.startswith("error: "):
        raise click.ClickException(outcome.removeprefix("error: "))
    console.print(outcome, markup=False, highlight=False)


@main.command()
@click.argument("pid", type=int)
@click.option("--state-dir", default=".llmagentos", help=STATE_HELP)
@WAIT_OPTION
def kill(pid: int, state_dir: str, wait: float) -> None:
    """End process PID."""
    _control("kill", pid, state_dir, wait)


@main.command()
@click.argument("pid", type=int)
@click.option("--state-dir", default=".llmagentos", help=STATE_HELP)
@WAIT_OPTION
def suspend(pid: int, state_dir: str, wait: float) -> None:
    """Hold process PID at its next system call."""
    _control("suspend", pid, state_dir, wait)


@main.command()
@click.argument("pid", type=int)
@click.option("--state-dir", default=".llmagentos", help=STATE_HELP)
@WAIT_OPTION
def resume(pid: int, state_dir: str, wait: float) -> None:
    """Let a suspended process go on."""
    _control("resume", pid, state_dir, wait)


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
                f"  {_short(e['call'])} -> {_short(e['result'] or '')}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    last = 0
    while True:
        for line in st.logs(pid, after_id=last):
            last = line["id"]
            stamp = time.strftime("%H:%M:%S", time.localtime(line["ts"]))
            console.print(
                f"{stamp} [{line['level']}] {line['message']}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
        if not follow or st.process(pid)["state"] in TERMINAL:
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
@click.option("--json", "as_json", is_flag=True)
def approvals_list(show_all: bool, state_dir: str, as_json: bool) -> None:
    """List calls waiting for a decision (with --all, decided ones too)."""
    from llmagentos.cli.runner import approval_store

    st = _state(state_dir)
    with approval_store(st) as store:
        rows = store.list(None if show_all else "pending")
    states = {a.pid: _process_state(st, a.pid) for a in rows}
    if as_json:
        click.echo(json.dumps([{**_approval_row(a), "process_state": states[a.pid]} for a in rows]))
        return
    if not rows:
        console.print("no pending approvals" if not show_all else "no approvals")
    for a in rows:
        status: str = a.status
        if status == "pending" and states[a.pid] in TERMINAL:
            # A process killed while it waited leaves its request behind; deciding it
            # changes nothing, which a person should see before deciding.
            status += f"; process {a.pid} is {states[a.pid]}, a decision has no effect"
        console.print(
            f"[bold]#{a.id}[/] pid {a.pid} ({escape(a.program)}) {a.kind} {escape(repr(a.target))}"
            f" — {escape(a.reason)} {escape(f'[{status}]')}",
            soft_wrap=True,
        )


def _process_state(st: StateDir, pid: int) -> str | None:
    try:
        return str(st.process(pid)["state"])
    except LLMAgentOSError:
        return None


def _approval_row(a: Any) -> dict[str, Any]:
    return {
        "id": a.id,
        "pid": a.pid,
        "program": a.program,
        "kind": a.kind,
        "target": a.target,
        "reason": a.reason,
        "status": a.status,
        "decided_by": a.decided_by,
        "note": a.note,
    }


def _decide(approval_id: int, approve: bool, note: str, state_dir: str) -> None:
    from llmagentos.cli.runner import approval_store

    try:
        with approval_store(_state(state_dir)) as store:
            a = store.decide(approval_id, approve, by="cli", note=note)
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
@click.option(
    "--model",
    default="builtin:tiny",
    show_default=True,
    help="Model spec all apps share; `offline` runs each app on its rule-based double.",
)
@click.option(
    "--apps",
    "app_names",
    default="",
    help="Comma-separated bundled apps to run (default: all six).",
)
@click.option(
    "--embedder",
    default="auto",
    show_default=True,
    help="Long-term memory embedder: auto (MiniLM when installed), minilm, hash.",
)
@click.option("--no-report", is_flag=True, help="Do not write report.html / summary.json.")
def demo(state_dir: str, model: str, app_names: str, embedder: str, no_report: bool) -> None:
    """The main job: the bundled apps at work together on one kernel, offline."""
    from llmagentos.apps.demo import APPS, run_demo
    from llmagentos.memory.manager import MemoryConfig

    _check_demo_dir(Path(state_dir))
    apps = tuple(a.strip() for a in app_names.split(",") if a.strip()) or APPS
    try:
        result = asyncio.run(
            run_demo(
                state_dir,
                model=model,
                apps=apps,
                console=console,
                report=not no_report,
                kernel_options={"memory": MemoryConfig(embedder=embedder)},
            )
        )
    except LLMAgentOSError as exc:
        raise click.ClickException(exc.message) from None
    failed = [name for name, o in result.apps.items() if o["state"] != "done"]
    if failed:
        raise click.ClickException(f"apps that did not finish: {', '.join(failed)}")


def _check_demo_dir(path: Path) -> None:
    """The demo starts from a clean state directory, so it deletes the one it is given:
    refuse anything that is not an llmagentos state directory, or one a kernel is using."""
    from llmagentos.storage.lock import StateLock

    if not path.exists():
        return
    if not path.is_dir():
        raise click.ClickException(f"--state-dir {path} is not a directory")
    if any(path.iterdir()) and not (path / "os.db").exists():
        raise click.ClickException(
            f"--state-dir {path} is not empty and holds no llmagentos state; the demo deletes"
            " its state directory first, so give it a new or an empty one"
        )
    if StateLock(path).held_elsewhere():
        raise click.ClickException(f"a kernel is running on {path}; stop it or use another dir")


__all__ = ["main"]
main.add_command(__import__("llmagentos.cli.model", fromlist=["model"]).model)
__import__("llmagentos.cli.serve", fromlist=["register"]).register(main)
main.add_command(__import__("llmagentos.cli.apps", fromlist=["app"]).app)
