"""Long-term memory rows in SQLite: the source of truth behind the in-memory indexes.

Texts and metadata live in the core `memories` table; each memory's vector lives in
`memory_vectors` as a float32 blob tagged with the embedder that made it, so rows made by
another embedder (or damaged) are recognised and embedded again from their text. The
write functions run inside the database writer's transaction (the syscall's journal entry
commits with them); reads use the caller's connection.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS memory_vectors (
    id TEXT PRIMARY KEY REFERENCES memories(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    vector BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS memory_namespaces (
    namespace TEXT PRIMARY KEY,
    created_at REAL NOT NULL
);
INSERT OR IGNORE INTO memory_namespaces(namespace, created_at)
    SELECT namespace, min(created_at) FROM memories GROUP BY namespace;
"""
"""Idempotent DDL (applied at boot); also registers namespaces of older databases."""


@dataclass(frozen=True, slots=True)
class MemoryRow:
    """A memory as `write_memories` stores it."""

    id: str
    text: str
    metadata: str | None  # JSON text
    vector: np.ndarray | None  # None: embedded later, when the namespace's index loads


@dataclass(frozen=True, slots=True)
class LoadedRow:
    """A memory as an index loads it: the vector is None when it must be embedded again."""

    id: str
    metadata: dict[str, Any] | None
    vector: np.ndarray | None
    damaged: bool  # metadata or vector did not decode


def write_memories(
    conn: sqlite3.Connection,
    namespace: str,
    rows: Sequence[MemoryRow],
    model: str,
    *,
    ignore_existing: bool = False,
) -> list[str]:
    """Insert memories and their vectors; returns the ids actually inserted.

    With `ignore_existing`, ids already stored are skipped (callers that derive ids from
    content use this to make a repeated write harmless).
    """
    now = time.time()
    conn.execute(
        "INSERT OR IGNORE INTO memory_namespaces(namespace, created_at) VALUES (?, ?)",
        (namespace, now),
    )
    verb = "INSERT OR IGNORE" if ignore_existing else "INSERT"
    written: list[str] = []
    for row in rows:
        cur = conn.execute(
            f"{verb} INTO memories(id, namespace, text, metadata, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (row.id, namespace, row.text, row.metadata, now),
        )
        if cur.rowcount == 0:
            continue
        written.append(row.id)
        if row.vector is None:
            continue
        conn.execute(
            "INSERT OR REPLACE INTO memory_vectors(id, model, vector) VALUES (?, ?, ?)",
            (row.id, model, _blob(row.vector)),
        )
    return written


def _blob(vec: np.ndarray) -> bytes:
    import numpy as np

    return np.ascontiguousarray(vec, dtype=np.float32).tobytes()


def delete_memory(conn: sqlite3.Connection, namespace: str, memory_id: str) -> bool:
    """Delete one memory (its vector goes with it: ON DELETE CASCADE)."""
    cur = conn.execute(
        "DELETE FROM memories WHERE namespace = ? AND id = ?", (namespace, memory_id)
    )
    return cur.rowcount > 0


def replace_vectors(
    conn: sqlite3.Connection, model: str, vectors: Iterable[tuple[str, np.ndarray]]
) -> None:
    """Store re-embedded vectors (of rows that still exist)."""
    for memory_id, vec in vectors:
        conn.execute(
            "INSERT OR REPLACE INTO memory_vectors(id, model, vector)"
            " SELECT id, ?, ? FROM memories WHERE id = ?",
            (model, _blob(vec), memory_id),
        )


def namespace_exists(conn: sqlite3.Connection, namespace: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM memory_namespaces WHERE namespace = ?", (namespace,)
    ).fetchone()
    return row is not None


def load_namespace(
    conn: sqlite3.Connection, namespace: str, model: str, dim: int
) -> list[LoadedRow]:
    """Every memory of a namespace, with its vector when it was made by `model` and is whole."""
    import numpy as np

    cur = conn.execute(
        "SELECT m.id, m.metadata, v.model, v.vector FROM memories m"
        " LEFT JOIN memory_vectors v ON v.id = m.id WHERE m.namespace = ? ORDER BY m.rowid",
        (namespace,),
    )
    out: list[LoadedRow] = []
    size = 4 * dim
    for memory_id, meta_text, vec_model, blob in cur:
        meta, damaged = _metadata(meta_text)
        vec = None
        if vec_model == model and isinstance(blob, bytes) and len(blob) == size:
            vec = np.frombuffer(blob, dtype=np.float32)
            if not np.isfinite(vec).all():
                vec = None
        if vec is None and vec_model is not None and vec_model == model:
            damaged = True  # right model, wrong size or NaNs: the blob was damaged
        out.append(LoadedRow(memory_id, meta, vec, damaged))
    return out


def _metadata(text: str | None) -> tuple[dict[str, Any] | None, bool]:
    if not text:
        return None, False
    try:
        value = json.loads(text)
    except ValueError:
        return None, True
    return (value, False) if isinstance(value, dict) else (None, True)


def texts_of(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, str]:
    """Texts of the given memories (missing ids are left out)."""
    out: dict[str, str] = {}
    for i in range(0, len(ids), 500):
        chunk = list(ids[i : i + 500])
        marks = ",".join("?" * len(chunk))
        for memory_id, text in conn.execute(
            f"SELECT id, text FROM memories WHERE id IN ({marks})", chunk
        ):
            out[memory_id] = text
    return out
