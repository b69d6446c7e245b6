"""Reading and steering an OS state directory from outside the kernel (the CLI's view)."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from llmagentos.errors import InvalidArgument, NotFound, SyscallTimeout, UnknownProcess
from llmagentos.kernel.config import KernelConfig
from llmagentos.kernel.process import ProcessState
from llmagentos.storage.lock import StateLock

TERMINAL = tuple(str(s) for s in ProcessState if s.terminal)


class StateDir:
    """An OS state directory: its database, and whether a kernel is running on it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.db_path = KernelConfig(state_dir=self.path).db_path
        if not self.db_path.exists():
            raise NotFound(f"no llmagentos state in {self.path} (run something first)")

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def kernel_running(self) -> bool:
        return StateLock(self.path).held_elsewhere()

    def processes(self, all: bool = False) -> list[dict[str, Any]]:
        with self.connect() as conn:
            sql = "SELECT * FROM processes"
            if not all:
                sql += f" WHERE state NOT IN ({','.join('?' * len(TERMINAL))})"
            rows = conn.execute(sql + " ORDER BY pid", () if all else TERMINAL).fetchall()
        return [_with_usage(dict(r)) for r in rows]

    def process(self, pid: int) -> dict[str, Any]:
        with self.connect() as conn:
            row = conn.execute("SELECT * FROM processes WHERE pid = ?", (pid,)).fetchone()
        if row is None:
            raise UnknownProcess(f"no process with pid {pid}")
        return _with_usage(dict(row))

    def control(self, command: str, pid: int, wait_s: float = 30.0) -> str:
        """Ask the running kernel to kill/suspend/resume; edit the table if none runs.

        Raises `SyscallTimeout` when a running kernel has not answered within `wait_s`:
        the command stays queued and the kernel applies it when it gets to it.
        """
        proc = self.process(pid)
        if proc["state"] in TERMINAL:
            return f"process {pid} already ended ({proc['state']})"
        if not self.kernel_running():
            return self._offline_control(command, pid)
        with self.connect() as conn:
            cid = conn.execute(
                "INSERT INTO control(ts, command, pid) VALUES (?, ?, ?)",
                (time.time(), command, pid),
            ).lastrowid
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            with self.connect() as conn:
                row = conn.execute(
                    "SELECT done, outcome FROM control WHERE id = ?", (cid,)
                ).fetchone()
            if row and row["done"]:
                return str(row["outcome"])
            time.sleep(0.05)
        raise SyscallTimeout(
            f"sent {command} of process {pid} to the kernel, which has not answered in "
            f"{wait_s:g}s; it stays queued and is applied when the kernel gets to it"
        )

    def _offline_control(self, command: str, pid: int) -> str:
        new = {"kill": "killed", "suspend": "suspended", "resume": "ready"}.get(command)
        if new is None:
            raise InvalidArgument(f"unknown command {command!r}")
        with self.connect() as conn:
            conn.execute(
                "UPDATE processes SET state = ?, error = COALESCE(error, ?),"
                " ended_at = CASE WHEN ? = 'killed' THEN ? ELSE ended_at END WHERE pid = ?",
                (new, "killed by operator" if new == "killed" else None, new, time.time(), pid),
            )
        return f"{new} (no kernel running; takes effect at the next boot)"

    def logs(self, pid: int, after_id: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT id, ts, level, message FROM logs WHERE pid = ? AND id > ? ORDER BY id"
                " LIMIT ?",
                (pid, after_id, limit),
            ).fetchall()
        return [dict(r) for r in rows]

    def journal(self, pid: int, limit: int = 200) -> list[dict[str, Any]]:
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT seq, kind, status, call, result, started_at, ended_at FROM journal"
                " WHERE pid = ? ORDER BY seq DESC LIMIT ?",
                (pid, limit),
            ).fetchall()
        return [dict(r) for r in reversed(rows)]


def _with_usage(row: dict[str, Any]) -> dict[str, Any]:
    usage = json.loads(row["usage"]) if row.get("usage") else {}
    row["usage"] = {k: v for k, v in usage.items() if k != "$t"}
    return row
