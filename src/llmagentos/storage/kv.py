"""Key-value and file stores, per namespace, as functions run inside a journal transaction."""

from __future__ import annotations

import json
import posixpath
import sqlite3
import time
from typing import Any

from llmagentos.errors import InvalidArgument, NotFound, RequestTooLarge

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


def normalize_path(path: str) -> str:
    """Confine a path to its namespace: relative, no `..` escape, no NUL."""
    if not isinstance(path, str) or not path.strip():
        raise InvalidArgument("a file path must be a non-empty string")
    if "\x00" in path:
        raise InvalidArgument("a file path may not contain NUL")
    if path.startswith("/") or path.startswith("\\") or (len(path) > 1 and path[1] == ":"):
        raise InvalidArgument(f"absolute paths are not allowed: {path!r}")
    norm = posixpath.normpath(path.replace("\\", "/"))
    if norm == ".." or norm.startswith("../"):
        raise InvalidArgument(f"path escapes its namespace: {path!r}")
    return norm


def file_write(conn: sqlite3.Connection, namespace: str, path: str, content: str | bytes) -> int:
    norm = normalize_path(path)
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    if len(data) > MAX_VALUE_BYTES:
        raise RequestTooLarge(f"file is {len(data)} bytes; the limit is {MAX_VALUE_BYTES}")
    conn.execute(
        "INSERT INTO files(namespace, path, content, is_text, updated_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT(namespace, path) DO UPDATE SET content=excluded.content,"
        " is_text=excluded.is_text, updated_at=excluded.updated_at",
        (namespace, norm, data, int(isinstance(content, str)), time.time()),
    )
    return len(data)


def file_read(conn: sqlite3.Connection, namespace: str, path: str) -> str | bytes:
    norm = normalize_path(path)
    row = conn.execute(
        "SELECT content, is_text FROM files WHERE namespace = ? AND path = ?", (namespace, norm)
    ).fetchone()
    if row is None:
        raise NotFound(f"no file {norm!r} in namespace {namespace!r}")
    data: bytes = row[0]
    return data.decode("utf-8") if row[1] else data


def file_list(conn: sqlite3.Connection, namespace: str, prefix: str = "") -> list[str]:
    rows = conn.execute(
        "SELECT path FROM files WHERE namespace = ? AND substr(path, 1, ?) = ? ORDER BY path",
        (namespace, len(prefix), prefix),
    ).fetchall()
    return [r[0] for r in rows]


def file_delete(conn: sqlite3.Connection, namespace: str, path: str) -> bool:
    norm = normalize_path(path)
    cur = conn.execute("DELETE FROM files WHERE namespace = ? AND path = ?", (namespace, norm))
    return cur.rowcount > 0
