"""The working set: a process's short-term memory, in RAM up to a budget, paged by LRU-K.

`WorkingSet` holds JSON values by key. While their encoded size fits `budget_bytes` they
stay in RAM; past it, the value whose K-th most recent access lies furthest back (LRU-K,
O'Neil et al. 1993) is paged out to a `PageStore`, and paged back in when it is read.
Values with fewer than K accesses count as infinitely old, so a burst of one-off reads
cannot push out values that are used again and again (plain LRU's weakness). Access
history is kept for paged-out keys too, so a value paged back in keeps its record.

It is process memory, not storage: it is not journaled and does not survive its process
or a restart. A replayed process rebuilds it by running the same code (its values come
from the program's own writes), which is why a fresh working set starts with an empty
page store: pages left by the run before the crash would be values from its future.
Durable data belongs in `kv_put`, files or `remember`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import orjson

from llmagentos.errors import InvalidArgument, RequestTooLarge

__all__ = ["LRUK", "DictPageStore", "PageStore", "SQLitePageStore", "WorkingSet"]

_ABSENT = object()


class PageStore(Protocol):
    """Where paged-out values of one owner wait (owner: a process id)."""

    def get(self, owner: int, key: str) -> bytes | None: ...

    def put(self, owner: int, key: str, data: bytes) -> None: ...

    def delete(self, owner: int, key: str) -> None: ...

    def keys(self, owner: int) -> list[str]: ...

    def clear(self, owner: int) -> None: ...


class DictPageStore:
    """Pages in a dict (tests, and kernels on an in-memory database)."""

    def __init__(self) -> None:
        self.pages: dict[tuple[int, str], bytes] = {}

    def get(self, owner: int, key: str) -> bytes | None:
        return self.pages.get((owner, key))

    def put(self, owner: int, key: str, data: bytes) -> None:
        self.pages[(owner, key)] = data

    def delete(self, owner: int, key: str) -> None:
        self.pages.pop((owner, key), None)

    def keys(self, owner: int) -> list[str]:
        return [k for o, k in self.pages if o == owner]

    def clear(self, owner: int) -> None:
        for page in [p for p in self.pages if p[0] == owner]:
            del self.pages[page]


class SQLitePageStore:
    """Pages in a swap file of their own (`swap.db` next to the OS database).

    A separate file, so paging never waits for the journal's writer; no fsync, since
    nothing in it outlives the kernel (`open` empties it).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS pages (owner INTEGER NOT NULL, key TEXT NOT NULL,"
                " data BLOB NOT NULL, PRIMARY KEY (owner, key))"
            )
            conn.execute("DELETE FROM pages")  # a new kernel: every working set starts empty
            self._conn = conn
        return self._conn

    def get(self, owner: int, key: str) -> bytes | None:
        with self._lock:
            row = (
                self._db()
                .execute("SELECT data FROM pages WHERE owner = ? AND key = ?", (owner, key))
                .fetchone()
            )
        return None if row is None else bytes(row[0])

    def put(self, owner: int, key: str, data: bytes) -> None:
        with self._lock:
            self._db().execute(
                "INSERT OR REPLACE INTO pages(owner, key, data) VALUES (?, ?, ?)",
                (owner, key, data),
            )

    def delete(self, owner: int, key: str) -> None:
        with self._lock:
            self._db().execute("DELETE FROM pages WHERE owner = ? AND key = ?", (owner, key))

    def keys(self, owner: int) -> list[str]:
        with self._lock:
            rows = self._db().execute("SELECT key FROM pages WHERE owner = ?", (owner,))
            return [r[0] for r in rows]

    def clear(self, owner: int) -> None:
        with self._lock:
            self._db().execute("DELETE FROM pages WHERE owner = ?", (owner,))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class LRUK:
    """The LRU-K replacement policy over a logical clock (one tick per access).

    `victim` picks, among candidate keys, the one with the largest backward K-distance
    (now minus the time of its K-th most recent access); keys seen fewer than K times
    go first, least recently used first. Accesses within `correlated` ticks of a key's
    previous one count as the same reference (a read-modify-write is one use).
    """

    def __init__(self, k: int = 2, correlated: int = 0, max_history: int = 100_000) -> None:
        if k < 1:
            raise InvalidArgument(f"LRU-K needs K >= 1, got {k}")
        self.k = k
        self.correlated = correlated
        self.max_history = max_history
        self.clock = 0
        self.history: dict[str, deque[int]] = {}

    def touch(self, key: str) -> None:
        self.clock += 1
        times = self.history.get(key)
        if times is None:
            if len(self.history) >= self.max_history:
                self.history.pop(next(iter(self.history)))  # forget the oldest-seen key
            times = self.history[key] = deque(maxlen=self.k)
        elif self.clock - times[-1] <= self.correlated:
            times[-1] = self.clock
            return
        times.append(self.clock)

    def forget(self, key: str) -> None:
        self.history.pop(key, None)

    def rank(self, key: str) -> tuple[int, int]:
        """Smaller ranks are evicted first: (K-th most recent access or -1, last access)."""
        times = self.history.get(key)
        if not times:
            return (-1, -1)
        kth = times[0] if len(times) == self.k else -1
        return (kth, times[-1])

    def victim(self, candidates: Iterable[str]) -> str:
        """The candidate to evict."""
        return min(candidates, key=self.rank)


class WorkingSet:
    """Short-term memory of one process: JSON values by key, a RAM budget, LRU-K paging."""

    def __init__(
        self,
        owner: int,
        budget_bytes: int,
        store: PageStore | None = None,
        *,
        k: int = 2,
        correlated: int = 0,
    ) -> None:
        if budget_bytes <= 0:
            raise InvalidArgument(f"a working set needs a positive budget, got {budget_bytes}")
        self.owner = owner
        self.budget_bytes = budget_bytes
        self.store: PageStore = store if store is not None else DictPageStore()
        self.policy = LRUK(k, correlated)
        self._ram: dict[str, bytes] = {}
        self._paged: set[str] = set()
        self._lock = threading.RLock()  # sync programs call from their worker thread
        self.resident_bytes = 0
        self.hits = self.page_ins = self.page_outs = 0
        self.store.clear(owner)

    def __len__(self) -> int:
        with self._lock:
            return len(self._ram) + len(self._paged)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._ram or key in self._paged

    def keys(self) -> list[str]:
        with self._lock:
            return sorted([*self._ram, *self._paged])

    def resident(self) -> list[str]:
        """Keys held in RAM now."""
        with self._lock:
            return sorted(self._ram)

    def put(self, key: str, value: Any) -> None:
        """Store a JSON value under `key` (a copy: later changes to `value` do not leak in)."""
        if not isinstance(key, str) or not key:
            raise InvalidArgument("a working-set key must be a non-empty string")
        try:
            data = orjson.dumps(value)
        except TypeError as exc:
            raise InvalidArgument(f"working-set values must be JSON: {exc}") from None
        if len(data) > self.budget_bytes:
            raise RequestTooLarge(
                f"a value of {len(data)} bytes does not fit the working set's budget of"
                f" {self.budget_bytes}; use files or kv for large data",
                limit=self.budget_bytes,
            )
        with self._lock:
            self._drop(key)
            self._admit(key, data)

    def get(self, key: str, default: Any = None) -> Any:
        """The value under `key` (paged back in if it was paged out), or `default`."""
        with self._lock:
            data = self._ram.get(key)
            if data is not None:
                self.hits += 1
                self.policy.touch(key)
            elif key in self._paged:
                data = self.store.get(self.owner, key)
                if data is None:  # the page store lost it (a new kernel): nothing to return
                    self._paged.discard(key)
                    return default
                self._paged.discard(key)
                self.store.delete(self.owner, key)
                self.page_ins += 1
                self._admit(key, data)
            else:
                return default
        return orjson.loads(data)

    def delete(self, key: str) -> bool:
        with self._lock:
            found = key in self
            self._drop(key)
            self.policy.forget(key)
            return found

    def clear(self) -> None:
        with self._lock:
            self._ram.clear()
            self._paged.clear()
            self.policy = LRUK(self.policy.k, self.policy.correlated)
            self.resident_bytes = 0
            self.store.clear(self.owner)

    def _drop(self, key: str) -> None:
        data = self._ram.pop(key, None)
        if data is not None:
            self.resident_bytes -= len(data)
        if key in self._paged:
            self._paged.discard(key)
            self.store.delete(self.owner, key)

    def _admit(self, key: str, data: bytes) -> None:
        self.policy.touch(key)
        self._ram[key] = data
        self.resident_bytes += len(data)
        while self.resident_bytes > self.budget_bytes:
            victim = self.policy.victim(k for k in self._ram if k != key)
            page = self._ram.pop(victim)
            self.resident_bytes -= len(page)
            self.store.put(self.owner, victim, page)
            self._paged.add(victim)
            self.page_outs += 1

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "keys": len(self._ram) + len(self._paged),
                "resident": len(self._ram),
                "resident_bytes": self.resident_bytes,
                "budget_bytes": self.budget_bytes,
                "hits": self.hits,
                "page_ins": self.page_ins,
                "page_outs": self.page_outs,
            }
