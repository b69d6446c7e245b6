"""The SQLite database behind the OS: one writer thread with group commit, WAL readers.

All writes go through one thread so SQLite never sees two writers. A write is a function
of a `sqlite3.Connection`; the writer drains whatever writes are queued and runs them in
one transaction (group commit), each inside its own savepoint so one failing write does
not undo the others. Callers on the event loop `await db.write(fn)`; callers on other
threads (CLI, sync agents, tools) use `db.write_sync(fn)`. Reads use a connection per
thread and never block the writer (WAL).

A full disk (`SQLITE_FULL`) surfaces as `JournalFull`; any other SQLite failure as
`JournalError`. Nothing is acknowledged before it is committed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from llmagentos.errors import JournalError, JournalFull

T = TypeVar("T")
WriteFn = Callable[[sqlite3.Connection], Any]

_STOP = object()


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30.0, check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode: a commit survives a process crash (SIGKILL); only an OS crash or
    # power loss can lose the last transactions. `durable=True` selects FULL.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


_CHUNKS = (512, 64, 8, 1)


def insert_rows(
    conn: sqlite3.Connection, head: str, width: int, rows: list[tuple[Any, ...]], tail: str = ""
) -> None:
    """`INSERT ... VALUES` many rows with few statements.

    `executemany` steps SQLite once per row, and the sqlite3 module hands the GIL over at
    every step: with the event loop busy on the other thread, that costs a thread switch
    per row. One statement per chunk of rows costs one. Chunk sizes are fixed so prepared
    statements are reused. `head` is `INSERT INTO t(cols)`, `tail` e.g. an upsert clause.
    """
    group = "(" + ",".join("?" * width) + ")"
    i = 0
    while i < len(rows):
        size = next(c for c in _CHUNKS if c <= len(rows) - i)
        sql = f"{head} VALUES {','.join([group] * size)} {tail}"
        conn.execute(sql, [v for row in rows[i : i + size] for v in row])
        i += size


def translate_sqlite_error(exc: sqlite3.Error) -> JournalError:
    """Map an SQLite failure to the OS's error types."""
    text = str(exc)
    code = getattr(exc, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_FULL or "disk is full" in text or "database or disk is full" in text:
        return JournalFull(f"storage is full: {text}")
    return JournalError(f"storage failed: {text}")


class Database:
    """One SQLite file shared by the journal, the process table and the stores."""

    def __init__(self, path: str | Path, *, durable: bool = False, max_batch: int = 512) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._durable = durable
        self._max_batch = max_batch
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._local = threading.local()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._writer_conn: sqlite3.Connection | None = None
        self.commits = 0
        self.writes = 0

    # -- lifecycle ------------------------------------------------------------------------

    def open(self, schema: Iterable[str] = ()) -> Database:
        """Start the writer and apply `schema` statements (idempotent DDL)."""
        if self._thread is not None:
            return self
        conn = _connect(self.path)
        if self._durable:
            conn.execute("PRAGMA synchronous=FULL")
        for stmt in schema:
            conn.executescript(stmt)
        self._writer_conn = conn
        self._thread = threading.Thread(target=self._run, name="llmagentos-db-writer", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Flush queued writes and stop the writer."""
        if self._thread is None or self._closed:
            return
        self._closed = True
        self._jobs.put(_STOP)
        self._thread.join()
        if self._writer_conn is not None:
            self._writer_conn.close()
        conns: list[sqlite3.Connection] = getattr(self._local, "all", [])
        for c in conns:
            c.close()

    def apply_schema(self, statements: Iterable[str]) -> None:
        """Run idempotent DDL through the writer."""

        def run(conn: sqlite3.Connection) -> None:
            for stmt in statements:
                conn.executescript(stmt)

        self.write_sync(run)

    # -- writes ---------------------------------------------------------------------------

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` in the next group-committed transaction; return its result.

        Writes commit in the order they were submitted. `fn` may run twice when SQLite
        loses a transaction (a full disk): keep it free of side effects outside `conn`,
        or make them repeatable.
        """
        return await self.submit(fn)

    def submit(self, fn: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """Queue `fn` now (its place in the commit order is fixed by this call); the future
        resolves on the calling loop after the commit."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._submit((fn, loop, fut))
        return fut

    def write_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`write` for threads that are not on an event loop."""
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._submit((fn, None, fut))
        return fut.result()

    def write_nowait(self, fn: WriteFn) -> None:
        """Queue a write nobody waits for (audit records, metrics); failures are dropped."""
        self._submit((fn, None, None))

    def _submit(self, job: tuple[Any, Any, Any]) -> None:
        if self._thread is None or self._closed:
            raise JournalError("database is not open")
        self._jobs.put(job)

    def _run(self) -> None:
        conn = self._writer_conn
        assert conn is not None
        stop = False
        while not stop:
            first = self._jobs.get()
            if first is _STOP:
                break
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    nxt = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
            self._commit_batch(conn, batch)

    def _commit_batch(self, conn: sqlite3.Connection, batch: list[tuple[Any, Any, Any]]) -> None:
        try:
            outcomes = self._run_batch(conn, batch)
            self.commits += 1
            self.writes += len(batch)
        except _TransactionLost:
            # SQLite rolled the whole transaction back (a full disk, an I/O error): run each
            # write in a transaction of its own, so one oversized write cannot sink the rest.
            # Jobs must therefore be safe to run twice (see `write`).
            outcomes = [self._run_alone(conn, fn) for fn, _, _ in batch]
        by_loop: dict[Any, list[tuple[Any, bool, Any]]] = {}
        for (_, loop, fut), (ok, value) in zip(batch, outcomes, strict=True):
            if fut is None:
                continue
            if loop is None:
                _settle(fut, ok, value)
            else:
                by_loop.setdefault(loop, []).append((fut, ok, value))
        for loop, items in by_loop.items():
            # One wake-up of the loop per batch, not one per write (each costs a syscall).
            try:
                loop.call_soon_threadsafe(_settle_all, items)
            except RuntimeError:  # the loop closed while we were committing
                pass

    def _run_batch(
        self, conn: sqlite3.Connection, batch: list[tuple[Any, Any, Any]]
    ) -> list[tuple[bool, Any]]:
        """All writes in one transaction, each in a savepoint so one failure stays its own."""
        outcomes: list[tuple[bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _TransactionLost from exc
        for i, (fn, _, _) in enumerate(batch):
            conn.execute(f"SAVEPOINT w{i}")
            try:
                outcomes.append((True, fn(conn)))
                conn.execute(f"RELEASE w{i}")
            except Exception as exc:  # one bad write must not sink the batch
                if not conn.in_transaction:
                    raise _TransactionLost from exc
                conn.execute(f"ROLLBACK TO w{i}")
                conn.execute(f"RELEASE w{i}")
                outcomes.append(_outcome(exc))
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise _TransactionLost from exc
        return outcomes

    def _run_alone(self, conn: sqlite3.Connection, fn: WriteFn) -> tuple[bool, Any]:
        try:
            conn.execute("BEGIN IMMEDIATE")
            value = fn(conn)
            conn.execute("COMMIT")
        except Exception as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return _outcome(exc)
        self.commits += 1
        self.writes += 1
        return True, value

    # -- reads ----------------------------------------------------------------------------

    def reader(self) -> sqlite3.Connection:
        """This thread's read connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path)
            self._local.conn = conn
            self._local.all = [*getattr(self._local, "all", []), conn]
        return conn

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Run a read-only query on this thread's connection."""
        try:
            return self.reader().execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise translate_sqlite_error(exc) from exc

    def query_one(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None


class _TransactionLost(Exception):
    """The batch's transaction was rolled back by SQLite itself."""


def _outcome(exc: Exception) -> tuple[bool, Any]:
    return False, translate_sqlite_error(exc) if isinstance(exc, sqlite3.Error) else exc


def _settle(fut: Any, ok: bool, value: Any) -> None:
    if fut.done():
        return
    if ok:
        fut.set_result(value)
    else:
        fut.set_exception(value)


def _settle_all(items: list[tuple[Any, bool, Any]]) -> None:
    for fut, ok, value in items:
        _settle(fut, ok, value)
