"""`llmagentos serve` and `llmagentos keys`: the OS as a service (`top` is in `cli.top`).

Registered on the main command group by `register(main)`; the server's dependencies (the
`server` extra) are imported only when a command runs.
"""

from __future__ import annotations

import json
import time
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from llmagentos.errors import LLMAgentOSError

console = Console()
STATE_HELP = "OS state directory (database, journal, lock)."


def _pairs(values: tuple[str, ...], option: str, example: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        name, sep, ref = value.partition("=")
        if not sep or not name or not ref:
            raise click.BadParameter(f"expected {example}, got {value!r}", param_hint=option)
        out[name] = ref
    return out


def _server_missing(exc: ImportError) -> click.ClickException:
    return click.ClickException(
        f"the server needs its extra dependencies ({exc.name} is missing):"
        " pip install 'llmagentos[server]'"
    )


# -- serve ------------------------------------------------------------------------------


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8470, show_default=True, type=click.IntRange(0, 65535))
@click.option("--state-dir", default=".llmagentos", help=STATE_HELP)
@click.option("--model", "models", multiple=True, help="NAME=SPEC, e.g. gpt=openai:gpt-4o-mini.")
@click.option("--tool", "tools", multiple=True, metavar="MODULE:ATTR", help="Register a tool.")
@click.option(
    "--program",
    "programs",
    multiple=True,
    metavar="NAME=REF",
    help="Register a program under a short name, e.g. researcher=agents.py:main.",
)
@click.option("--policy", type=click.Path(dir_okay=False), help="Access policy (.toml or .json).")
@click.option("--scheduler", default="las", type=click.Choice(["fifo", "rr", "priority", "las"]))
@click.option("--no-recover", is_flag=True, help="Do not resume unfinished processes.")
@click.option("--create-admin-key", is_flag=True, help="Create an admin key and print it once.")
@click.option("--cors-origin", "cors", multiple=True, help="Allow browser calls from ORIGIN.")
@click.option("--public-docs", is_flag=True, help="Serve /docs and /openapi.json without a key.")
@click.option("--json-logs", is_flag=True, help="Structured JSON logs on stderr.")
@click.option("--log-events", is_flag=True, help="Log kernel events too.")
@click.option(
    "--otel",
    type=click.Choice(["console", "otlp"]),
    help="Export an OpenTelemetry span per syscall.",
)
@click.option("--max-body-mb", default=4.0, show_default=True, type=click.FloatRange(0.001))
def serve(
    host: str,
    port: int,
    state_dir: str,
    models: tuple[str, ...],
    tools: tuple[str, ...],
    programs: tuple[str, ...],
    policy: str | None,
    scheduler: str,
    no_recover: bool,
    create_admin_key: bool,
    cors: tuple[str, ...],
    public_docs: bool,
    json_logs: bool,
    log_events: bool,
    otel: str | None,
    max_body_mb: float,
) -> None:
    """Serve the OS over HTTP: REST API, OpenAI-compatible /v1, dashboard, /metrics.

    \b
    Example:
      llmagentos serve --model gpt=openai:gpt-4o-mini --create-admin-key
      open http://127.0.0.1:8470/dashboard
    """
    try:
        from llmagentos.cli.runner import load_policy, load_tools
        from llmagentos.kernel.config import KernelConfig
        from llmagentos.kernel.kernel import Kernel
        from llmagentos.server import ServerConfig, create_app, jsonlog
        from llmagentos.server.runner import serve as run_server
    except ImportError as exc:
        raise _server_missing(exc) from None
    model_map = _pairs(models, "--model", "NAME=SPEC (e.g. gpt=openai:gpt-4o-mini)")
    program_map = _pairs(programs, "--program", "NAME=REF (e.g. researcher=agents.py:main)")
    config = KernelConfig(state_dir=state_dir, scheduler=scheduler, recover=not no_recover)
    try:
        kernel = Kernel(
            config, models=dict(model_map), tools=load_tools(tools), policy=load_policy(policy)
        )
        for name, ref in program_map.items():
            kernel.register_program(name, kernel.programs.resolve(ref))
        token = _admin_key(str(config.db_path)) if create_admin_key else None
    except LLMAgentOSError as exc:
        raise click.ClickException(exc.message) from None
    jsonlog.configure(json_lines=json_logs)
    server_config = ServerConfig(
        host=host,
        port=port,
        cors_origins=cors,
        public_docs=public_docs,
        json_logs=json_logs,
        otel=otel,
        log_events=log_events,
        max_body_bytes=int(max_body_mb * 1024 * 1024),
    )
    app = create_app(kernel, server_config)
    base = f"http://{host}:{port}"
    click.echo(f"llmagentos serving on {base} (dashboard: {base}/dashboard)", err=True)
    if token is not None:
        click.echo("admin API key (shown once; store it now):", err=True)
        click.echo(token)
        click.echo(f"dashboard with this key: {base}/dashboard#key={token}", err=True)
    # log_config=None: uvicorn keeps the handlers `jsonlog.configure` installed.
    run_server(
        app,
        host,
        port,
        log_level="warning",
        access_log=False,
        log_config=None,
        limit_concurrency=server_config.max_connections,
    )


def _admin_key(db_path: str) -> str | None:
    """Create the key `admin` unless some admin key exists; its token, or None."""
    from llmagentos.server.auth import SCHEMA, KeyStore, upgrade
    from llmagentos.storage.db import Database

    db = Database(db_path).open([SCHEMA])
    try:
        db.write_sync(upgrade)
        store = KeyStore(db)
        admins = [k.name for k in store.list() if "admin" in k.scopes and not k.revoked]
        if admins:
            click.echo(
                f"an admin key exists already ({', '.join(admins)}); it is not shown again."
                " Create another with `llmagentos keys create NAME --scope admin`.",
                err=True,
            )
            return None
        name = "admin"
        taken = {k.name for k in store.list()}
        suffix = 2
        while name in taken:
            name, suffix = f"admin-{suffix}", suffix + 1
        _, token = store.create(name, ["admin"])
        return token
    finally:
        db.close()


# -- keys -------------------------------------------------------------------------------


@click.group()
def keys() -> None:
    """API keys of the server (stored hashed in the state directory's database)."""


def _store(state_dir: str) -> Any:
    """The key store of a state directory (created if new: keys may come before a kernel)."""
    from llmagentos.kernel.config import KernelConfig
    from llmagentos.server.auth import SCHEMA, KeyStore, upgrade
    from llmagentos.storage.db import Database

    try:
        db = Database(KernelConfig(state_dir=state_dir).db_path).open([SCHEMA])
        db.write_sync(upgrade)
    except LLMAgentOSError as exc:
        raise click.ClickException(exc.message) from None
    return KeyStore(db)


@keys.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(["read", "operate", "admin"]),
    default=("read",),
    show_default=True,
)
@click.option("--models", "model_patterns", multiple=True, help="Models the key may use.")
@click.option("--programs", "program_patterns", multiple=True, help="Programs it may spawn.")
@click.option("--max-tokens", type=click.IntRange(min=0), help="Token budget of the key.")
@click.option("--rpm", type=click.IntRange(min=1), help="Requests per minute at most.")
@click.option("--tpm", type=click.IntRange(min=1), help="Model tokens per minute at most.")
@click.option("--state-dir", default=".llmagentos", help=STATE_HELP)
def keys_create(
    name: str,
    scopes: tuple[str, ...],
    model_patterns: tuple[str, ...],
    program_patterns: tuple[str, ...],
    max_tokens: int | None,
    rpm: int | None,
    tpm: int | None,
    state_dir: str,
) -> None:
    """Create key NAME and print it (once)."""
    from llmagentos.kernel.syscalls import Capabilities
    from llmagentos.records import replace

    caps = replace(Capabilities(), models=model_patterns or None, max_tokens=max_tokens)
    store = _store(state_dir)
    try:
        _, token = store.create(
            name,
            list(scopes),
            caps=caps,
            programs=program_patterns or ("*",),
            requests_per_minute=rpm,
            tokens_per_minute=tpm,
        )
    except LLMAgentOSError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        store.db.close()
    click.echo(token)


@keys.command("list")
@click.option("--state-dir", default=".llmagentos", help=STATE_HELP)
@click.option("--json", "as_json", is_flag=True)
def keys_list(state_dir: str, as_json: bool) -> None:
    """List keys (names and scopes; secrets are never stored)."""
    store = _store(state_dir)
    try:
        rows = store.list()
    finally:
        store.db.close()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "name": k.name,
                        "scopes": list(k.scopes),
                        "revoked": k.revoked,
                        "used_tokens": k.used_tokens,
                        "last_used": k.last_used,
                    }
                    for k in rows
                ]
            )
        )
        return
    table = Table(title="API keys", title_justify="left")
    for col in ("NAME", "SCOPES", "TOKENS USED", "LAST USED", "REVOKED"):
        table.add_column(col)
    for k in rows:
        last = time.strftime("%Y-%m-%d %H:%M", time.localtime(k.last_used)) if k.last_used else "-"
        table.add_row(
            escape(k.name),
            ", ".join(k.scopes),
            str(k.used_tokens),
            last,
            "yes" if k.revoked else "",
        )
    console.print(table)


@keys.command("revoke")
@click.argument("name")
@click.option("--state-dir", default=".llmagentos", help=STATE_HELP)
def keys_revoke(name: str, state_dir: str) -> None:
    """Revoke key NAME (a running server stops accepting it within seconds)."""
    store = _store(state_dir)
    try:
        store.revoke_sync(name)
    except LLMAgentOSError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        store.db.close()
    click.echo(f"revoked {name}")


def register(group: click.Group) -> None:
    """Add `serve`, `top` and `keys` to the `llmagentos` command group."""
    from llmagentos.cli.top import top

    group.add_command(serve)
    group.add_command(top)
    group.add_command(keys)


__all__ = ["keys", "register", "serve"]
