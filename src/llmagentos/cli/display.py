"""Rich renderings shared by CLI commands: process tables and summaries."""

from __future__ import annotations

import time
from typing import Any

from rich.markup import escape
from rich.table import Table

STATE_STYLE = {
    "running": "green",
    "waiting": "yellow",
    "ready": "cyan",
    "new": "cyan",
    "suspended": "magenta",
    "done": "dim",
    "failed": "red",
    "killed": "red",
}


def process_table(rows: list[dict[str, Any]], title: str = "processes") -> Table:
    """A table of processes from dict rows (`StateDir.processes` or `ProcessInfo` dicts)."""
    table = Table(title=title, title_justify="left", expand=False)
    for col, justify in [
        ("PID", "right"),
        ("NAME", "left"),
        ("STATE", "left"),
        ("PRI", "right"),
        ("TOKENS", "right"),
        ("LLM", "right"),
        ("TOOLS", "right"),
        ("SYSCALLS", "right"),
        ("QUEUED s", "right"),
        ("WALL s", "right"),
        ("NOTE", "left"),
    ]:
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    now = time.time()
    for r in rows:
        u = r.get("usage") or {}
        state = str(r["state"])
        started, ended = r.get("started_at"), r.get("ended_at")
        wall = ((ended or now) - started) if started else 0.0
        # Names and errors come from programs: show them as text, never as markup.
        note = escape((r.get("error") or "")[:60])
        table.add_row(
            str(r["pid"]),
            escape(str(r["name"])),
            f"[{STATE_STYLE.get(state, '')}]{state}[/]",
            str(r.get("priority", 0)),
            str(u.get("tokens_in", 0) + u.get("tokens_out", 0)),
            str(u.get("llm_calls", 0)),
            str(u.get("tool_calls", 0)),
            str(u.get("syscalls", 0)),
            f"{u.get('queue_time_s', 0.0):.2f}",
            f"{wall:.1f}",
            note,
        )
    return table


def info_rows(infos: list[Any]) -> list[dict[str, Any]]:
    """`ProcessInfo` records as the dict rows `process_table` takes."""
    rows = []
    for i in infos:
        u = i.usage
        rows.append(
            {
                "pid": i.pid,
                "name": i.name,
                "state": i.state,
                "priority": i.priority,
                "started_at": i.started_at,
                "ended_at": i.ended_at,
                "error": i.error,
                "usage": {
                    "tokens_in": u.tokens_in,
                    "tokens_out": u.tokens_out,
                    "llm_calls": u.llm_calls,
                    "tool_calls": u.tool_calls,
                    "syscalls": u.syscalls,
                    "queue_time_s": u.queue_time_s,
                },
            }
        )
    return rows
