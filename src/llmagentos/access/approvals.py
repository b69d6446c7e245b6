"""Approvals: calls a policy marked "ask", waiting in SQLite for a person's decision.

The kernel files a request and polls for the answer; a person decides from another OS
process (the CLI) on the same database file, so the store keeps no state in memory.
Requests are keyed by `(pid, seq)`, the call's place in the process's journal: a process
replayed after a crash asks again at the same place and finds its earlier request, and
the decision if one was made, instead of asking twice.
"""

from __future__ import annotations

import asyncio
import builtins
import sqlite3
import time
from typing import Any, Final, Literal

from llmagentos.errors import (
    ApprovalRejected,
    InvalidArgument,
    InvalidState,
    NondeterminismError,
    NotFound,
    SyscallTimeout,
)
from llmagentos.kernel.syscalls import Syscall
from llmagentos.records import dumps, loads, record
from llmagentos.storage.db import Database

__all__ = ["Approval", "ApprovalStatus", "ApprovalStore"]

ApprovalStatus = Literal["pending", "approved", "rejected"]
_STATUSES: Final = ("pending", "approved", "rejected")

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS approvals (
    id INTEGER PRIMARY KEY,
    pid INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    program TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    call TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by TEXT,
    note TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    decided_at REAL,
    UNIQUE (pid, seq)
);
CREATE INDEX IF NOT EXISTS approvals_status ON approvals(status, id);
"""

_COLUMNS: Final = (
    "id, pid, seq, program, kind, target, call, reason, status, decided_by, note, "
    "created_at, decided_at"
)


@record
class Approval:
    """A request for a person's decision on one call; `call` is the call's JSON."""

    id: int
    pid: int
    seq: int
    program: str
    kind: str
    target: str
    call: str
    reason: str
    status: ApprovalStatus
    decided_by: str | None = None
    note: str = ""
    created_at: float = 0.0
    decided_at: float | None = None

    def syscall(self) -> Syscall:
        """The call awaiting approval, decoded."""
        call: Syscall = loads(self.call)
        return call

    def raise_if_rejected(self) -> None:
        """Raise `ApprovalRejected` (with who and why) when the request was rejected."""
        if self.status == "rejected":
            why = f": {self.note}" if self.note else ""
            raise ApprovalRejected(
                f"{self.kind} call on {self.target!r} was rejected by {self.decided_by}{why}",
                approval_id=self.id,
            )


def _approval(row: sqlite3.Row | tuple[Any, ...]) -> Approval:
    return Approval(*tuple(row))


def _select_one(conn: sqlite3.Connection, where: str, params: tuple[Any, ...]) -> Approval | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM approvals WHERE {where}", params).fetchone()
    return _approval(row) if row is not None else None


class ApprovalStore:
    """Durable approval requests and decisions in the `approvals` table."""

    SCHEMA: Final = SCHEMA

    def __init__(self, db: Database) -> None:
        self.db = db

    async def request(
        self,
        pid: int,
        seq: int,
        program: str,
        call: Syscall,
        kind: str,
        target: str,
        reason: str,
    ) -> Approval:
        """File a request for the call at `(pid, seq)`, or return the one filed before."""
        text = dumps(call)

        def insert(conn: sqlite3.Connection) -> Approval:
            conn.execute(
                "INSERT OR IGNORE INTO approvals"
                " (pid, seq, program, kind, target, call, reason, created_at)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (pid, seq, program, kind, target, text, reason, time.time()),
            )
            found = _select_one(conn, "pid = ? AND seq = ?", (pid, seq))
            assert found is not None  # inserted or already there, in this transaction
            return found

        approval = await self.db.write(insert)
        if approval.call != text:
            # A replayed process asking about a different call must not inherit the
            # decision made for the first one.
            raise NondeterminismError(
                f"process {pid} asked for approval of a different call at seq {seq} than"
                f" before: {approval.call} then {text}",
                pid=pid,
                seq=seq,
            )
        return approval

    def get(self, approval_id: int) -> Approval:
        """The approval with this id; `NotFound` when there is none."""
        row = self.db.query_one(f"SELECT {_COLUMNS} FROM approvals WHERE id = ?", (approval_id,))
        if row is None:
            raise NotFound(f"no approval request {approval_id}", approval_id=approval_id)
        return _approval(row)

    def list(self, status: ApprovalStatus | None = None) -> builtins.list[Approval]:
        """All requests, oldest first, optionally only those with `status`."""
        if status is None:
            rows = self.db.query(f"SELECT {_COLUMNS} FROM approvals ORDER BY id")
        elif status in _STATUSES:
            rows = self.db.query(
                f"SELECT {_COLUMNS} FROM approvals WHERE status = ? ORDER BY id", (status,)
            )
        else:
            raise InvalidArgument(f"status must be one of {list(_STATUSES)}, got {status!r}")
        return [_approval(r) for r in rows]

    def decide(self, approval_id: int, approve: bool, by: str, note: str = "") -> Approval:
        """Approve or reject a pending request (sync: the CLI calls it from its own process).

        Raises `NotFound` for an unknown id and `InvalidState` when it was already decided.
        """
        status = "approved" if approve else "rejected"

        def update(conn: sqlite3.Connection) -> Approval:
            cur = conn.execute(
                "UPDATE approvals SET status = ?, decided_by = ?, note = ?, decided_at = ?"
                " WHERE id = ? AND status = 'pending'",
                (status, by, note, time.time(), approval_id),
            )
            found = _select_one(conn, "id = ?", (approval_id,))
            if found is None:
                raise NotFound(f"no approval request {approval_id}", approval_id=approval_id)
            if cur.rowcount == 0:
                raise InvalidState(
                    f"approval request {approval_id} was already {found.status}"
                    f" by {found.decided_by}",
                    approval_id=approval_id,
                    status=found.status,
                )
            return found

        return self.db.write_sync(update)

    async def wait(
        self, approval_id: int, poll_s: float = 0.2, timeout_s: float | None = None
    ) -> Approval:
        """Poll until the request is decided and return it; `SyscallTimeout` past `timeout_s`.

        Polling, not notification, because the decision is written by another OS process.
        """
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            approval = self.get(approval_id)
            if approval.status != "pending":
                return approval
            if deadline is not None and time.monotonic() >= deadline:
                raise SyscallTimeout(
                    f"approval request {approval_id} is still pending after {timeout_s}s",
                    approval_id=approval_id,
                )
            delay = poll_s if deadline is None else min(poll_s, deadline - time.monotonic())
            await asyncio.sleep(max(0.0, delay))
