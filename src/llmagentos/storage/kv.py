"""Key-value store per namespace, as functions run inside a journal transaction.

Files live in `storage.files` (versioned, confined, under quota).
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from llmagentos.errors import InvalidArgument, RequestTooLarge

MAX_KEY = 1024
MAX_VALUE_BYTES = 16 * 1024 * 1024


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not key:
        raise InvalidArgument("a key must be a non-empty string")
    if len(key) > MAX_KEY:
        raise InvalidArgument(f"key is {len(key)} characters long; the limit is {MAX_KEY}")


def kv_put(conn: sqlite3.Connection, namespace: str, key: str, value: Any) -> None:
    _check_key(key)
    text = json.dumps(value, ensure_ascii=False)
    if len(text) > MAX_VALUE_BYTES:
        raise RequestTooLarge(f"value is {len(text)} bytes; the limit is {MAX_VALUE_BYTES}")
    conn.execute(
        "INSERT INTO kv(namespace, key, value, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(namespace, key) DO UPDATE SET value=excluded.value,"
        " updated_at=excluded.updated_at",
        (namespace, key, text, time.time()),
    )


def kv_get(conn: sqlite3.Connection, namespace: str, key: str, default: Any = None) -> Any:
    _check_key(key)
    row = conn.execute(
        "SELECT value FROM kv WHERE namespace = ? AND key = ?", (namespace, key)
    ).fetchone()
    return default if row is None else json.loads(row[0])


def kv_delete(conn: sqlite3.Connection, namespace: str, key: str) -> bool:
    _check_key(key)
    cur = conn.execute("DELETE FROM kv WHERE namespace = ? AND key = ?", (namespace, key))
    return cur.rowcount > 0


def kv_list(conn: sqlite3.Connection, namespace: str, prefix: str = "") -> list[str]:
    rows = conn.execute(
        "SELECT key FROM kv WHERE namespace = ? AND substr(key, 1, ?) = ? ORDER BY key",
        (namespace, len(prefix), prefix),
    ).fetchall()
    return [r[0] for r in rows]
