"""The syscall journal: each call recorded before it runs, its outcome after.

These functions run inside the database writer's transaction (see `storage.db`), so a
syscall's own effect (a message inserted, a key written, a child process created) and its
journal entry commit together or not at all. That is what makes replay exactly-once for
effects the kernel owns.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

from llmagentos.records import record
from llmagentos.storage.db import Database, single_statement

STARTED = "started"
DONE = "done"
ERROR = "error"


@record
class JournalEntry:
    """One journaled syscall as it is stored: JSON texts, decoded on demand."""

    pid: int
    seq: int
    kind: str
    call: str
    status: str
    result: str | None = None
    progress: str | None = None
    started_at: float = 0.0
    ended_at: float | None = None

    @property
    def finished(self) -> bool:
        return self.status in (DONE, ERROR)


def record_started(
    conn: sqlite3.Connection, pid: int, seq: int, kind: str, call: str, progress: str | None = None
) -> None:
    """Write the intent of a call (or refresh its progress) before its effect runs."""
    conn.execute(
        "INSERT INTO journal(pid, seq, kind, call, status, progress, started_at)"
        " VALUES (?, ?, ?, ?, 'started', ?, ?)"
        " ON CONFLICT(pid, seq) DO UPDATE SET progress=excluded.progress",
        (pid, seq, kind, call, progress, time.time()),
    )


def record_finished(
    conn: sqlite3.Connection,
    pid: int,
    seq: int,
    kind: str,
    call: str,
    result: str,
    *,
    ok: bool = True,
) -> None:
    """Write a call's outcome (result or error), creating the entry if it had none."""
    now = time.time()
    status = DONE if ok else ERROR
    conn.execute(
        "INSERT INTO journal(pid, seq, kind, call, status, result, started_at, ended_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(pid, seq) DO UPDATE SET status=excluded.status,"
        " result=excluded.result, ended_at=excluded.ended_at",
        (pid, seq, kind, call, status, result, now, now),
    )


def started(
    pid: int, seq: int, kind: str, call: str, progress: str | None = None
) -> Callable[[sqlite3.Connection], None]:
    """A one-statement write of `record_started`, for the database writer's hot path."""
    return single_statement(lambda c: record_started(c, pid, seq, kind, call, progress))


def finished(
    pid: int, seq: int, kind: str, call: str, result: str, *, ok: bool = True
) -> Callable[[sqlite3.Connection], None]:
    """A one-statement write of `record_finished`."""
    return single_statement(lambda c: record_finished(c, pid, seq, kind, call, result, ok=ok))


def load_entries(db: Database, pid: int) -> dict[int, JournalEntry]:
    """All journal entries of a process, by sequence number."""
    rows = db.query(
        "SELECT pid, seq, kind, call, status, result, progress, started_at, ended_at"
        " FROM journal WHERE pid = ? ORDER BY seq",
        (pid,),
    )
    return {r["seq"]: JournalEntry(**dict(r)) for r in rows}


def entries_for_display(db: Database, pid: int, limit: int = 200) -> list[dict[str, Any]]:
    """Recent journal rows of a process, newest last (for `logs` and the dashboard)."""
    rows = db.query(
        "SELECT seq, kind, status, call, result, started_at, ended_at FROM journal"
        " WHERE pid = ? ORDER BY seq DESC LIMIT ?",
        (pid, limit),
    )
    return [dict(r) for r in reversed(rows)]


def compact(conn: sqlite3.Connection, terminal_states: tuple[str, ...]) -> int:
    """Drop journal rows of processes that ended: they will never be replayed."""
    marks = ",".join("?" for _ in terminal_states)
    cur = conn.execute(
        f"DELETE FROM journal WHERE pid IN (SELECT pid FROM processes WHERE state IN ({marks}))",
        terminal_states,
    )
    return cur.rowcount
