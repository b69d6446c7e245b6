"""`llmagentos app`: list, install, run and remove apps."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import click
from rich.console import Console
from rich.json import JSON
from rich.markup import escape
from rich.table import Table

from llmagentos.errors import LLMAgentOSError

console = Console()
STATE_HELP = "OS state directory (installed apps live in its apps/ folder)."


def _pairs(pairs: tuple[str, ...], option: str) -> dict[str, Any]:
    """KEY=VALUE pairs; values are read as JSON when they parse, else kept as text."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint=option)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


@click.group("app")
def app() -> None:
    """Installable apps: list, install, run, remove."""


@app.command("list")
@click.option("--state-dir", default=".llmagentos", help=STATE_HELP)
@click.option("--json", "as_json", is_flag=True)
def app_list(state_dir: str, as_json: bool) -> None:
    """List the bundled and the installed apps."""
    from llmagentos.apps import AppStore

    try:
        apps = AppStore(state_dir).available()
    except LLMAgentOSError as exc:
        raise click.ClickException(exc.message) from None
    if as_json:
        rows = [
            {
                "name": a.name,
                "version": a.manifest.version,
                "source": a.source,
                "model": a.manifest.model,
                "description": a.manifest.description,
            }
            for a in apps
        ]
        click.echo(json.dumps(rows))
        return
    table = Table(title="apps", title_justify="left")
    for column in ("name", "version", "source", "model", "description"):
        table.add_column(column)
    for a in apps:
        m = a.manifest
        table.add_row(m.name, m.version, escape(a.source), m.model or "-", escape(m.description))
    console.print(table)


@app.command("install")
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--grant",
    "grants",
    multiple=True,
    metavar="FIELD=VALUES",
    help="Grant less than the app asks, e.g. tools=search,fetch or max_tokens=5000.",
)
@click.option("--state-dir", default=".llmagentos", help=STATE_HELP)
def app_install(path: str, grants: tuple[str, ...], state_dir: str) -> None:
    """Install the app in directory PATH (it must hold an app.toml)."""
    from llmagentos.apps import AppStore

    granted: dict[str, Any] = {}
    for pair in grants:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected FIELD=VALUES, got {pair!r}", param_hint="--grant")
        granted[key] = value
    try:
        info = AppStore(state_dir).install(path, granted)
    except LLMAgentOSError as exc:
        raise click.ClickException(exc.message) from None
    assert info.granted is not None
    caps = {k: v for k, v in _fields(info.granted).items() if v is not None}
    console.print(f"installed [bold]{info.name}[/] {info.manifest.version}; granted:", caps)


def _fields(record: Any) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__dataclass_fields__}


@app.command("remove")
@click.argument("name")
@click.option("--state-dir", default=".llmagentos", help=STATE_HELP)
def app_remove(name: str, state_dir: str) -> None:
    """Uninstall app NAME (its data stays in the state directory)."""
    from llmagentos.apps import AppStore

    try:
        AppStore(state_dir).remove(name)
    except LLMAgentOSError as exc:
        raise click.ClickException(exc.message) from None
    console.print(f"removed {name}")


@app.command("run")
@click.argument("name")
@click.option("--arg", "args", multiple=True, help="Program argument KEY=VALUE (JSON values).")
@click.option(
    "--model",
    default=None,
    help="Model spec to run on (default: the app's; 'offline' for its offline double).",
)
@click.option("--policy", type=click.Path(dir_okay=False), help="Operator policy (.toml/.json).")
@click.option("--approve", is_flag=True, help="Approve every 'ask' at once (no person needed).")
@click.option("--resume", is_flag=True, help="Also resume unfinished processes of earlier runs.")
@click.option("--state-dir", default=".llmagentos", help=STATE_HELP)
@click.option("--quiet", is_flag=True, help="No live process table.")
def app_run(
    name: str,
    args: tuple[str, ...],
    model: str | None,
    policy: str | None,
    approve: bool,
    resume: bool,
    state_dir: str,
    quiet: bool,
) -> None:
    """Run app NAME as a process; exits 0 when it ends done."""
    from llmagentos.access import Policy
    from llmagentos.apps import AppStore, run_app
    from llmagentos.cli.runner import watch

    program_args = _pairs(args, "--arg")

    async def display(kernel: Any, until: Any) -> None:
        await watch(kernel, until, None if quiet else console, title=f"llmagentos app {name}")

    try:
        manifest = AppStore(state_dir).get(name).manifest
        if any(r.effect == "ask" for r in manifest.policy) and not approve:
            console.print(
                f"{name} asks a person before some actions: answer with `llmagentos approvals"
                f" list|approve|reject --state-dir {state_dir}` from another terminal"
                " (or run with --approve)",
                markup=False,
            )
        outcome = asyncio.run(
            run_app(
                name,
                program_args,
                state_dir=state_dir,
                model=model,
                policy=Policy.from_file(policy) if policy else None,
                approve=approve,
                resume=resume,
                display=display,
            )
        )
    except LLMAgentOSError as exc:
        raise click.ClickException(exc.message) from None
    for note in outcome.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    status = outcome.status
    console.print(
        f"[bold]{name}[/] (pid {status.pid}, model {escape(outcome.model)}) ended"
        f" [bold]{status.state}[/]"
    )
    if status.result is not None:
        console.print(JSON.from_data(status.result), soft_wrap=True)
    if status.error:
        console.print(f"[red]{escape(status.error)}[/]", soft_wrap=True)
    sys.exit(0 if status.state == "done" else 1)
