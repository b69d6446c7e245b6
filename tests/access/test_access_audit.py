"""Audit log: rows for allows and denies, filters, and a durable file."""

from __future__ import annotations

import threading
from pathlib import Path

from llmagentos.access import SCHEMAS, AuditLog, Decision, Subject
from llmagentos.storage.db import Database


def test_rows_are_written_and_filtered(tmp_path: Path) -> None:
    db = Database(tmp_path / "os.db").open(SCHEMAS)
    audit = AuditLog(db)
    a, b = Subject(1, "a", "pkg.a:main"), Subject(2, "b", "pkg.b:main")
    audit.record(a, "tool", "calc", Decision("allow", "default"))
    audit.record(a, "tool", "shell", Decision("deny", "no shell", 0))
    audit.record(b, "llm", "default", Decision("allow", "default"))
    audit.record(b, "storage", "shared", Decision("ask", "needs a person", 1))
    audit.flush()

    rows = audit.query()
    assert [(r.pid, r.target, r.effect) for r in rows] == [
        (1, "calc", "allow"),
        (1, "shell", "deny"),
        (2, "default", "allow"),
        (2, "shared", "ask"),
    ]
    assert all(r.ts > 0 for r in rows) and rows[1].reason == "no shell"
    assert [r.target for r in audit.query(pid=1)] == ["calc", "shell"]
    assert [r.target for r in audit.query(effect="allow")] == ["calc", "default"]
    assert [r.target for r in audit.query(pid=2, effect="ask")] == ["shared"]
    assert [r.target for r in audit.query(limit=2)] == ["default", "shared"]  # latest two
    db.close()

    # the rows outlive the process that wrote them
    reopened = Database(tmp_path / "os.db").open(SCHEMAS)
    assert len(AuditLog(reopened).query()) == 4
    reopened.close()


def test_close_flushes_queued_rows(tmp_path: Path) -> None:
    db = Database(tmp_path / "os.db").open(SCHEMAS)
    audit = AuditLog(db)
    for i in range(200):
        audit.record(Subject(i, "p", "prog"), "clock", "", Decision("allow"))
    db.close()
    reopened = Database(tmp_path / "os.db").open(SCHEMAS)
    assert len(AuditLog(reopened).query(limit=1000)) == 200
    reopened.close()


def test_no_row_is_lost_when_threads_race_the_writer(tmp_path: Path) -> None:
    db = Database(tmp_path / "os.db").open(SCHEMAS)
    audit = AuditLog(db)

    def burst(pid: int) -> None:
        for _ in range(2000):
            audit.record(Subject(pid, "p", "prog"), "tool", "calc", Decision("allow"))

    threads = [threading.Thread(target=burst, args=(pid,)) for pid in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    audit.flush()
    assert [len(audit.query(pid=pid, limit=10_000)) for pid in range(4)] == [2000] * 4
    db.close()
