"""`llmagentos top`: a live terminal view of the process table.

From a running server's API (`--url` and a key with the `read` scope: also queues, token
rate, approvals) or straight from a state directory's database (no server needed).
Needs only httpx, not the server's extra dependencies.
"""

from __future__ import annotations

import time
from typing import Any

import click
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from llmagentos.cli.display import process_table
from llmagentos.errors import LLMAgentOSError

console = Console()
STATE_HELP = "OS state directory (database, journal, lock)."
KEY_ENV = "LLMAGENTOS_API_KEY"


@click.command()
@click.option("--url", help="A running server, e.g. http://127.0.0.1:8470 (needs a key).")
@click.option("--key", envvar=KEY_ENV, help=f"API key with the read scope (or ${KEY_ENV}).")
@click.option("--state-dir", default=".llmagentos", help=STATE_HELP + " Used without --url.")
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(0.1, 60))
@click.option("--all", "-a", "show_all", is_flag=True, help="Include ended processes.")
@click.option("--once", is_flag=True, help="Print one frame and exit.")
def top(
    url: str | None,
    key: str | None,
    state_dir: str,
    interval: float,
    show_all: bool,
    once: bool,
) -> None:
    """A live view of the process table, from a server's API or a state directory."""
    if url is not None and not key:
        raise click.ClickException(f"--url needs an API key: --key or ${KEY_ENV}")
    source = _ApiSource(url, key or "") if url else _StateSource(state_dir)
    try:
        if once:
            console.print(source.frame(show_all))
            return
        with Live(source.frame(show_all), console=console, refresh_per_second=4) as live:
            while True:
                time.sleep(interval)
                live.update(source.frame(show_all))
    except KeyboardInterrupt:
        pass
    finally:
        source.close()


class _ApiSource:
    """Frames from `GET /api/dashboard` of a running server."""

    def __init__(self, url: str, key: str) -> None:
        import httpx

        self.client = httpx.Client(
            base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {key}"}, timeout=10
        )
        self.last_tokens: tuple[float, int] | None = None

    def frame(self, show_all: bool) -> Any:
        import httpx

        try:
            resp = self.client.get("/api/dashboard", params={"processes": 500})
        except httpx.HTTPError as exc:
            return Text(f"cannot reach the server: {exc}", style="red")
        if resp.status_code != 200:
            message = resp.json().get("error", {}).get("message", resp.text)
            if resp.status_code in (401, 403):
                raise click.ClickException(f"the server refused the key: {message}")
            return Text(f"server answered {resp.status_code}: {message}", style="red")
        data = resp.json()
        rows = [p for p in data["processes"] if show_all or p["state"] not in _ENDED]
        return Group(
            _summary(data, self._rate(data)),
            process_table(rows, title=f"processes at {self.client.base_url}"),
            _resources(data["scheduler"]),
        )

    def _rate(self, data: dict[str, Any]) -> float | None:
        points = data["tokens"]
        if len(points) < 2:
            return None
        a, b = points[-2], points[-1]
        dt = b["ts"] - a["ts"]
        return (
            (b["tokens_in"] + b["tokens_out"] - a["tokens_in"] - a["tokens_out"]) / dt
            if dt
            else None
        )

    def close(self) -> None:
        self.client.close()


class _StateSource:
    """Frames read straight from a state directory's database (no server needed)."""

    def __init__(self, state_dir: str) -> None:
        from llmagentos.cli.state import StateDir

        try:
            self.state = StateDir(state_dir)
        except LLMAgentOSError as exc:
            raise click.ClickException(exc.message) from None

    def frame(self, show_all: bool) -> Any:
        rows = self.state.processes(all=show_all)
        running = "running" if self.state.kernel_running() else "not running"
        return process_table(rows, title=f"processes in {self.state.path} (kernel {running})")

    def close(self) -> None:
        pass


_ENDED = ("done", "failed", "killed")


def _summary(data: dict[str, Any], rate: float | None) -> Text:
    procs = data["processes"]
    live = sum(1 for p in procs if p["state"] not in _ENDED)
    sched = data["scheduler"]
    last = data["tokens"][-1] if data["tokens"] else None
    tokens = (last["tokens_in"] + last["tokens_out"]) if last else 0
    parts = [
        f"live {live}",
        f"shown {len(procs)}",
        f"tokens {tokens}",
        f"tok/s {rate:.1f}" if rate is not None else "tok/s -",
        f"queued {sched['queued']}",
        f"in flight {sched['in_flight']}",
        f"approvals {len(data['approvals'])}",
        f"scheduler {sched['policy']}",
    ]
    return Text("  ".join(parts), style="bold")


def _resources(sched: dict[str, Any]) -> Table:
    table = Table(title="resources", title_justify="left")
    for col in ("RESOURCE", "LIMIT", "QUEUED", "IN FLIGHT", "DONE", "OLDEST WAIT s"):
        table.add_column(col, justify="left" if col == "RESOURCE" else "right")
    for r in sched["resources"]:
        table.add_row(
            escape(r["resource"]),
            str(r["limit"] if r["limit"] is not None else "-"),
            str(r["queued"]),
            str(r["in_flight"]),
            str(r["completed"]),
            f"{r['oldest_wait_s']:.2f}",
        )
    return table


__all__ = ["top"]
