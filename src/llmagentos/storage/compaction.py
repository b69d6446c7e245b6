"""Journal compaction: drop what can never be replayed again, so storage stays bounded.

A process that ended (done, failed, killed) is never replayed, so its journal rows, and
the rows the managers keep per process (context summaries, paged-out working sets), are
dead weight once nobody needs to read them. `Compactor.tick` is called by the kernel's
control loop; it is cheap until `interval_s` has passed, then compacts when the journal
holds at least `min_rows` rows. Processes that ended less than `keep_s` ago keep their rows,
so `llmagentos logs PID --journal` still shows recent work.

Freed pages go to SQLite's free list and are reused by later writes, so the file stops
growing; it does not shrink (that needs a VACUUM, which would stall every writer).
Live processes keep their whole journal: replay starts from their first call, and a
process's Python state cannot be snapshotted, so a process that runs forever grows its
journal forever (split long-lived agents into bounded child processes).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from llmagentos.records import record
from llmagentos.storage.db import Database

__all__ = ["PER_PROCESS_TABLES", "CompactionReport", "Compactor", "compact"]

TERMINAL_STATES = ("done", "failed", "killed")

PER_PROCESS_TABLES: tuple[str, ...] = ("journal", "context_summaries")
"""Tables with a `pid` column whose rows die with their process."""


@record
class CompactionReport:
    """What one compaction removed."""

    processes: int
    rows: dict[str, int]
    at: float

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def compact(
    conn: sqlite3.Connection, ended_before: float, tables: tuple[str, ...] | None = None
) -> CompactionReport:
    """Delete the per-process rows of processes that ended before `ended_before`."""
    marks = ",".join("?" * len(TERMINAL_STATES))
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS _compact_pids (pid INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM _compact_pids")
    conn.execute(
        "INSERT INTO _compact_pids SELECT pid FROM processes"
        f" WHERE state IN ({marks}) AND coalesce(ended_at, 0) < ?",
        (*TERMINAL_STATES, ended_before),
    )
    count = conn.execute("SELECT count(*) FROM _compact_pids").fetchone()[0]
    removed: dict[str, int] = {}
    for table in tables if tables is not None else PER_PROCESS_TABLES:
        cur = conn.execute(f"DELETE FROM {table} WHERE pid IN (SELECT pid FROM _compact_pids)")
        removed[table] = cur.rowcount
    conn.execute("DELETE FROM _compact_pids")
    return CompactionReport(processes=int(count), rows=removed, at=time.time())


@dataclass
class Compactor:
    """Decides when to compact, and does it through the database writer."""

    db: Database
    interval_s: float = 300.0
    min_rows: int = 10_000
    keep_s: float = 3600.0
    last_check: float = field(default_factory=time.monotonic)
    reports: list[CompactionReport] = field(default_factory=list)
    sweepers: list[Callable[[], None]] = field(default_factory=list)  # run on every tick

    def journal_rows(self) -> int:
        """How many rows the journal holds."""
        row = self.db.query_one("SELECT count(*) FROM journal")
        return int(row[0]) if row is not None else 0

    async def tick(self) -> CompactionReport | None:
        """Run the sweepers; compact if `interval_s` has passed and the journal has
        `min_rows` rows."""
        for sweep in self.sweepers:
            sweep()
        now = time.monotonic()
        if now - self.last_check < self.interval_s:
            return None
        self.last_check = now
        if await asyncio.to_thread(self.journal_rows) < self.min_rows:  # a scan: off the loop
            return None
        return await self.run()

    async def run(self, keep_s: float | None = None) -> CompactionReport:
        """Compact now: rows of processes that ended more than `keep_s` ago go."""
        cutoff = time.time() - (self.keep_s if keep_s is None else keep_s)
        report = await self.db.write(lambda c: compact(c, cutoff))
        self.reports = [*self.reports[-9:], report]
        return report
