"""Audit log: every access decision, allows included, as one row in SQLite.

Recording sits on the syscall path, so it never waits: rows go to an in-memory queue,
and one `Database.write_nowait` job at a time inserts everything queued so far with
`executemany`, committed with whatever else the group-commit writer has queued. Rows are
readable as soon as that batch commits (`flush` waits for it).
"""

from __future__ import annotations

import collections
import time
from typing import TYPE_CHECKING, Any, Final

from llmagentos.records import record
from llmagentos.storage.db import insert_rows

if TYPE_CHECKING:
    import sqlite3

    from llmagentos.access.controller import Subject
    from llmagentos.access.policy import Decision
    from llmagentos.storage.db import Database

__all__ = ["AuditEntry", "AuditLog"]

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    pid INTEGER NOT NULL,
    program TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    effect TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_pid ON audit(pid, id);
"""

_INSERT_HEAD: Final = "INSERT INTO audit (ts, pid, program, kind, target, effect, reason)"


@record
class AuditEntry:
    """One audited decision."""

    id: int
    ts: float
    pid: int
    program: str
    kind: str
    target: str
    effect: str
    reason: str


class AuditLog:
    """Writes decisions to the `audit` table and reads them back."""

    SCHEMA: Final = SCHEMA

    def __init__(self, db: Database) -> None:
        self.db = db
        self._rows: collections.deque[tuple[Any, ...]] = collections.deque()
        self._scheduled = False

    def record(self, subject: Subject, kind: str, target: str, decision: Decision) -> None:
        """Queue one row; returns at once (the group-commit writer batches the inserts)."""
        row = (
            time.time(),
            subject.pid,
            subject.program,
            kind,
            target,
            decision.effect,
            decision.reason,
        )
        self._rows.append(row)
        if not self._scheduled:
            # One drain job in the writer's queue at a time: rows recorded meanwhile ride
            # along, so a burst of decisions costs one insert job, not one per row.
            self._scheduled = True
            try:
                held: list[tuple[Any, ...]] = []
                self.db.write_nowait(lambda conn: self._drain(conn, held))
            except BaseException:
                self._scheduled = False
                raise

    def _drain(self, conn: sqlite3.Connection, held: list[tuple[Any, ...]]) -> None:
        """Insert every queued row (runs on the writer thread, the deque's only consumer)."""
        if not held:  # a rerun (after SQLite lost the transaction) writes the same rows
            # Cleared before draining: a row appended after this point either is drained
            # below or sees `_scheduled` False and queues the next job, so none is stranded.
            self._scheduled = False
            while self._rows:
                held.append(self._rows.popleft())
        if held:
            insert_rows(conn, _INSERT_HEAD, 7, held)

    def flush(self) -> None:
        """Wait until every row queued so far is committed (the writer runs jobs in order)."""
        self.db.write_sync(_noop)

    def query(
        self, pid: int | None = None, effect: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """The latest `limit` entries, oldest first, optionally for one pid or effect."""
        where: list[str] = []
        params: list[Any] = []
        if pid is not None:
            where.append("pid = ?")
            params.append(pid)
        if effect is not None:
            where.append("effect = ?")
            params.append(effect)
        sql = "SELECT id, ts, pid, program, kind, target, effect, reason FROM audit"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        rows = self.db.query(sql, params)
        return [AuditEntry(*tuple(r)) for r in reversed(rows)]


def _noop(conn: sqlite3.Connection) -> None:
    return None
