"""A small lexical long-term memory: SQLite rows scored by word overlap (BM25-like).

This is the dependency-free memory the kernel starts with; the memory manager issue
replaces scoring with real embeddings behind the same functions.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import time
import uuid
from collections import Counter
from typing import Any

from llmagentos.errors import InvalidArgument, RequestTooLarge
from llmagentos.kernel.syscalls import MemoryItem

MAX_MEMORY_CHARS = 64_000
_WORD = re.compile(r"[\w']+", re.UNICODE)


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def remember(
    conn: sqlite3.Connection, namespace: str, text: str, metadata: dict[str, Any] | None
) -> str:
    if not text or not text.strip():
        raise InvalidArgument("cannot remember an empty text")
    if len(text) > MAX_MEMORY_CHARS:
        raise RequestTooLarge(f"memory is {len(text)} characters; the limit is {MAX_MEMORY_CHARS}")
    mid = uuid.uuid4().hex
    conn.execute(
        "INSERT INTO memories(id, namespace, text, metadata, created_at) VALUES (?, ?, ?, ?, ?)",
        (mid, namespace, text, json.dumps(metadata) if metadata else None, time.time()),
    )
    return mid


def forget(conn: sqlite3.Connection, namespace: str, memory_id: str) -> bool:
    cur = conn.execute(
        "DELETE FROM memories WHERE namespace = ? AND id = ?", (namespace, memory_id)
    )
    return cur.rowcount > 0


def recall(
    conn: sqlite3.Connection,
    namespace: str,
    query: str,
    k: int,
    where: dict[str, Any] | None,
) -> list[MemoryItem]:
    if not query or not query.strip():
        raise InvalidArgument("a recall query must not be empty")
    if k <= 0:
        raise InvalidArgument(f"k must be positive, got {k}")
    rows = conn.execute(
        "SELECT id, text, metadata FROM memories WHERE namespace = ?", (namespace,)
    ).fetchall()
    docs = []
    for r in rows:
        meta = json.loads(r[2]) if r[2] else None
        if where and not all((meta or {}).get(key) == val for key, val in where.items()):
            continue
        docs.append((r[0], r[1], meta, Counter(words(r[1]))))
    if not docs:
        return []
    q = set(words(query))
    df = Counter(w for _, _, _, c in docs for w in c if w in q)
    n = len(docs)
    avg = sum(sum(c.values()) for *_, c in docs) / n
    scored = []
    for mid, text, meta, counts in docs:
        length = sum(counts.values()) or 1
        score = 0.0
        for w in q:
            tf = counts.get(w, 0)
            if tf:
                idf = math.log(1 + (n - df[w] + 0.5) / (df[w] + 0.5))
                score += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / avg))
        if score > 0:
            scored.append(MemoryItem(id=mid, text=text, metadata=meta, score=round(score, 6)))
    scored.sort(key=lambda m: -m.score)
    return scored[:k]
