"""The syscall journal: each call recorded before it runs, its outcome after.

These functions run inside the database writer's transaction (see `storage.db`), so a
syscall's own effect (a message inserted, a key written, a child process created) and its
journal entry commit together or not at all. That is what makes replay exactly-once for
effects the kernel owns.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from typing import Any

from llmagentos.records import record
from llmagentos.storage.db import Database, insert_rows

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


_STARTED_HEAD = "INSERT INTO journal(pid, seq, kind, call, status, progress, started_at)"
_STARTED_TAIL = "ON CONFLICT(pid, seq) DO UPDATE SET progress=excluded.progress"
_FINISHED_HEAD = "INSERT INTO journal(pid, seq, kind, call, status, result, started_at, ended_at)"
_FINISHED_TAIL = (
    "ON CONFLICT(pid, seq) DO UPDATE SET status=excluded.status,"
    " result=excluded.result, ended_at=excluded.ended_at"
)


class _Held:
    """The rows one flush took from the buffer, kept so a rerun writes the same rows."""

    __slots__ = ("finished", "started", "taken", "waiters")

    def __init__(self) -> None:
        self.taken = False
        self.started: list[tuple[Any, ...]] = []
        self.finished: list[tuple[Any, ...]] = []
        self.waiters: list[asyncio.Future[None]] = []


def _merge(
    started: list[tuple[Any, ...]], finished: list[tuple[Any, ...]]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Fold a call's intent into its outcome when both commit in the same transaction.

    The intent row would be overwritten within the very transaction that wrote it, so
    writing the outcome alone (keeping the intent's start time) is the same commit, for
    half the rows. Fast calls, the common case, all take this path.
    """
    pending = {(row[0], row[1]): row for row in started}
    out = []
    for row in finished:
        intent = pending.pop((row[0], row[1]), None)
        if intent is not None:
            pid, seq, kind, call, status, result, _, ended = row
            row = (pid, seq, kind, call, status, result, intent[6], ended)
        out.append(row)
    return list(pending.values()), out


class JournalBuffer:
    """Coalesces journal rows into one `executemany` per group commit.

    Rows of resource calls (model, tool) are appended here instead of each being its own
    database job; whichever flush is pending takes every row appended so far, writes them in
    one statement per kind, and wakes the callers waiting for durability after the commit.
    Rows are written in append order, so a call's `started` row precedes its outcome.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()  # the writer thread swaps what the loop appends to
        self._started: list[tuple[Any, ...]] = []
        self._finished: list[tuple[Any, ...]] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._pending = False
        self._flushes: set[asyncio.Future[Any]] = set()

    def started(
        self, pid: int, seq: int, kind: str, call: str, progress: str | None = None
    ) -> None:
        """Record a call's intent; durable at the next commit (nobody waits for it)."""
        self._add(False, (pid, seq, kind, call, STARTED, progress, time.time()), None)

    async def durable_started(self, pid: int, seq: int, kind: str, call: str) -> None:
        """Record a call's intent and wait until it is committed (before outside effects)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._add(False, (pid, seq, kind, call, STARTED, None, time.time()), fut)
        await fut

    def finished(
        self, pid: int, seq: int, kind: str, call: str, result: str, *, ok: bool = True
    ) -> None:
        """Record a call's outcome; it commits with the next flush.

        Nobody waits for it, and that is safe: the database writer commits in submission
        order, so this row is durable no later than any effect the process submits after
        seeing the result (a message, a file, a side-effecting tool's intent, its exit). A
        crash can only lose the result together with everything that came of it, and replay
        then simply runs the call again.
        """
        now = time.time()
        self._add(True, (pid, seq, kind, call, DONE if ok else ERROR, result, now, now), None)

    async def durable(self) -> None:
        """Wait until every row added so far is committed."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._add(None, None, fut)
        await fut

    def _add(
        self, outcome: bool | None, row: tuple[Any, ...] | None, fut: asyncio.Future[None] | None
    ) -> None:
        with self._lock:
            if row is not None:
                (self._finished if outcome else self._started).append(row)
            if fut is not None:
                self._waiters.append(fut)
            kick = not self._pending
            self._pending = True
        if kick:
            held = _Held()
            flush = self._db.submit(lambda c: self._flush(c, held))
            self._flushes.add(flush)
            flush.add_done_callback(lambda done: self._flushed(done, held.waiters))

    def _flush(self, conn: sqlite3.Connection, held: _Held) -> None:
        """Write the buffered rows (on the writer thread, inside its transaction)."""
        if not held.taken:  # a rerun after a lost transaction writes the same rows again
            with self._lock:
                held.started, self._started = self._started, []
                held.finished, self._finished = self._finished, []
                held.waiters, self._waiters = self._waiters, []
                self._pending = False
            held.taken = True
            if held.started and held.finished:
                held.started, held.finished = _merge(held.started, held.finished)
        if held.started:
            insert_rows(conn, _STARTED_HEAD, 7, held.started, _STARTED_TAIL)
        if held.finished:
            insert_rows(conn, _FINISHED_HEAD, 8, held.finished, _FINISHED_TAIL)

    def _flushed(self, done: asyncio.Future[None], taken: list[asyncio.Future[None]]) -> None:
        """After the commit (on the loop): wake the callers whose rows it carried."""
        self._flushes.discard(done)
        exc = None if done.cancelled() else done.exception()
        for fut in taken:
            if fut.done():
                continue
            if exc is not None:
                fut.set_exception(exc)  # the rows were lost with their transaction
            else:
                fut.set_result(None)
