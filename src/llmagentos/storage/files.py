"""Versioned files per namespace: write, read, list, delete, history, rollback, diff.

Files live in SQLite, so a path is a key, never a location on disk: there are no links to
follow and nothing outside the namespace to reach. `confine_path` still refuses what would
mean "elsewhere" on a file system (absolute paths, `..`, drive letters, backslashes, NUL
and control characters) and canonicalises the rest, so one file has one name.

Every write adds a version (an identical write adds none); a delete adds a tombstone;
rollback writes an old version's content as a new version. The oldest versions beyond
`FileQuota.max_versions` are pruned. Quotas hold per namespace: bytes of every retained
version, live files, size of one file. Functions run inside the writer's transaction,
so a write (content, head, usage, pruning) is atomic with its journal entry.
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import sqlite3
import time
import unicodedata
from dataclasses import dataclass

from llmagentos.errors import InvalidArgument, NotFound, QuotaExceeded, RequestTooLarge
from llmagentos.kernel.syscalls import FileVersion

SCHEMA = """
CREATE TABLE IF NOT EXISTS file_versions (
    namespace TEXT NOT NULL,
    path TEXT NOT NULL,
    version INTEGER NOT NULL,
    content BLOB,                  -- NULL: the file was deleted in this version
    is_text INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL DEFAULT 0,
    sha256 TEXT,
    created_at REAL NOT NULL,
    note TEXT,
    PRIMARY KEY (namespace, path, version)
);
CREATE TABLE IF NOT EXISTS file_heads (
    namespace TEXT NOT NULL,
    path TEXT NOT NULL,
    version INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (namespace, path)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS file_usage (
    namespace TEXT PRIMARY KEY,
    bytes INTEGER NOT NULL DEFAULT 0,
    files INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT OR IGNORE INTO file_versions(namespace, path, version, content, is_text, size,
        created_at, note)
    SELECT f.namespace, f.path, 1, f.content, f.is_text, length(f.content), f.updated_at,
        'imported' FROM files f
    WHERE NOT EXISTS (SELECT 1 FROM file_heads h
                      WHERE h.namespace = f.namespace AND h.path = f.path);
INSERT OR IGNORE INTO file_heads(namespace, path, version, deleted)
    SELECT namespace, path, 1, 0 FROM file_versions WHERE note = 'imported';
DELETE FROM file_usage;
INSERT INTO file_usage(namespace, bytes, files)
    SELECT v.namespace, sum(v.size),
        (SELECT count(*) FROM file_heads h WHERE h.namespace = v.namespace AND h.deleted = 0)
    FROM file_versions v GROUP BY v.namespace;
"""
"""Idempotent DDL, applied at boot. It also imports files of databases older than
versioning (the plain `files` table) and recounts usage, so quotas cannot drift."""

MAX_DIFF_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class FileQuota:
    """Limits of one namespace's files."""

    max_bytes: int = 256 * 1024 * 1024  # all retained versions together
    max_files: int = 10_000  # live files
    max_file_bytes: int = 16 * 1024 * 1024
    max_versions: int = 20  # per file; older versions are pruned
    max_path_chars: int = 1024


def quota_for(namespace: str, default: FileQuota, overrides: dict[str, FileQuota]) -> FileQuota:
    """The quota of a namespace: the first override whose glob matches it, else `default`."""
    for pattern, quota in overrides.items():
        if fnmatch.fnmatchcase(namespace, pattern):
            return quota
    return default


def confine_path(path: str, max_chars: int = 1024) -> str:
    """The canonical form of a path inside a namespace, or `InvalidArgument`."""
    if not isinstance(path, str) or not path.strip():
        raise InvalidArgument("a file path must be a non-empty string")
    if len(path) > max_chars:
        raise InvalidArgument(f"a file path may have at most {max_chars} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        raise InvalidArgument(f"a file path may not contain NUL or control characters: {path!r}")
    if "\\" in path:
        raise InvalidArgument(f"use '/' in file paths, not '\\\\': {path!r}")
    if path.startswith(("/", "~")) or (len(path) > 1 and path[1] == ":" and path[0].isalpha()):
        raise InvalidArgument(f"absolute paths are not allowed: {path!r}")
    if path.endswith("/"):
        raise InvalidArgument(f"a file path may not end with '/': {path!r}")
    # NFC: two spellings of "é" must not be two files that look the same.
    parts = [p for p in unicodedata.normalize("NFC", path).split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidArgument(f"'..' is not allowed in a file path: {path!r}")
    if not parts:
        raise InvalidArgument(f"a file path must name a file: {path!r}")
    if any(len(p.encode()) > 255 for p in parts):
        raise InvalidArgument("a path component may have at most 255 bytes")
    return "/".join(parts)


def _head(conn: sqlite3.Connection, ns: str, path: str) -> tuple[int, bool] | None:
    row = conn.execute(
        "SELECT version, deleted FROM file_heads WHERE namespace = ? AND path = ?", (ns, path)
    ).fetchone()
    return None if row is None else (int(row[0]), bool(row[1]))


def _usage(conn: sqlite3.Connection, ns: str) -> tuple[int, int]:
    row = conn.execute("SELECT bytes, files FROM file_usage WHERE namespace = ?", (ns,)).fetchone()
    return (0, 0) if row is None else (int(row[0]), int(row[1]))


def _add_usage(conn: sqlite3.Connection, ns: str, nbytes: int, files: int) -> None:
    conn.execute(
        "INSERT INTO file_usage(namespace, bytes, files) VALUES (?, ?, ?)"
        " ON CONFLICT(namespace) DO UPDATE SET bytes = bytes + excluded.bytes,"
        " files = files + excluded.files",
        (ns, nbytes, files),
    )


def _add_version(
    conn: sqlite3.Connection,
    ns: str,
    path: str,
    data: bytes | None,
    is_text: bool,
    quota: FileQuota,
    note: str | None = None,
) -> int:
    """Append a version (None: a tombstone), enforce the quota, prune old versions."""
    head = _head(conn, ns, path)
    live_before = head is not None and not head[1]
    size = 0 if data is None else len(data)
    digest = None if data is None else hashlib.sha256(data).hexdigest()
    if head is not None and data is not None and live_before:
        same = conn.execute(
            "SELECT sha256, is_text FROM file_versions WHERE namespace = ? AND path = ?"
            " AND version = ?",
            (ns, path, head[0]),
        ).fetchone()
        if same is not None and same[0] == digest and bool(same[1]) == is_text and not note:
            return head[0]  # identical content: no new version
    used_bytes, used_files = _usage(conn, ns)
    new_files = (data is not None) - live_before
    if size > quota.max_file_bytes:
        raise RequestTooLarge(
            f"file is {size} bytes; the limit is {quota.max_file_bytes}",
            namespace=ns,
            limit=quota.max_file_bytes,
        )
    if used_bytes + size > quota.max_bytes:
        raise QuotaExceeded(
            f"namespace {ns!r} holds {used_bytes} bytes of files; writing {size} more would"
            f" pass its quota of {quota.max_bytes} (delete files or old versions)",
            namespace=ns,
            field="file_bytes",
            limit=quota.max_bytes,
            used=used_bytes,
            requested=size,
        )
    if new_files > 0 and used_files + new_files > quota.max_files:
        raise QuotaExceeded(
            f"namespace {ns!r} has {used_files} files; its quota is {quota.max_files}",
            namespace=ns,
            field="files",
            limit=quota.max_files,
            used=used_files,
        )
    version = 1 if head is None else head[0] + 1
    conn.execute(
        "INSERT INTO file_versions(namespace, path, version, content, is_text, size, sha256,"
        " created_at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (ns, path, version, data, int(is_text), size, digest, time.time(), note),
    )
    conn.execute(
        "INSERT INTO file_heads(namespace, path, version, deleted) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(namespace, path) DO UPDATE SET version = excluded.version,"
        " deleted = excluded.deleted",
        (ns, path, version, int(data is None)),
    )
    freed = _prune(conn, ns, path, version - quota.max_versions)
    _add_usage(conn, ns, size - freed, new_files)
    return version


def _prune(conn: sqlite3.Connection, ns: str, path: str, below: int) -> int:
    """Drop versions numbered `<= below`; returns the bytes freed."""
    if below < 1:
        return 0
    row = conn.execute(
        "SELECT coalesce(sum(size), 0) FROM file_versions WHERE namespace = ? AND path = ?"
        " AND version <= ?",
        (ns, path, below),
    ).fetchone()
    conn.execute(
        "DELETE FROM file_versions WHERE namespace = ? AND path = ? AND version <= ?",
        (ns, path, below),
    )
    return int(row[0])


def write(
    conn: sqlite3.Connection, ns: str, path: str, content: str | bytes, quota: FileQuota
) -> int:
    """Write a file (a new version); returns its size in bytes."""
    norm = confine_path(path, quota.max_path_chars)
    if not isinstance(content, (str, bytes, bytearray)):
        raise InvalidArgument(f"file content must be str or bytes, not {type(content).__name__}")
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    _add_version(conn, ns, norm, data, isinstance(content, str), quota)
    return len(data)


def read(conn: sqlite3.Connection, ns: str, path: str, version: int | None = None) -> str | bytes:
    """The content of a file, now or at `version`."""
    norm = confine_path(path)
    head = _head(conn, ns, norm)
    if head is None or (version is None and head[1]):
        raise NotFound(f"no file {norm!r} in namespace {ns!r}", path=norm)
    row = conn.execute(
        "SELECT content, is_text FROM file_versions WHERE namespace = ? AND path = ?"
        " AND version = ?",
        (ns, norm, head[0] if version is None else version),
    ).fetchone()
    if row is None or row[0] is None:
        what = "was pruned or never existed" if row is None else "is a deletion"
        raise NotFound(f"version {version} of {norm!r} {what}", path=norm, version=version)
    data: bytes = row[0]
    return data.decode("utf-8") if row[1] else data


def listing(conn: sqlite3.Connection, ns: str, prefix: str = "") -> list[str]:
    """Live files whose path starts with `prefix`, sorted."""
    if not isinstance(prefix, str) or "\x00" in prefix:
        raise InvalidArgument("a prefix must be a string without NUL")
    rows = conn.execute(
        "SELECT path FROM file_heads WHERE namespace = ? AND deleted = 0"
        " AND substr(path, 1, ?) = ? ORDER BY path",
        (ns, len(prefix), prefix),
    ).fetchall()
    return [r[0] for r in rows]


def delete(conn: sqlite3.Connection, ns: str, path: str, quota: FileQuota) -> bool:
    """Delete a file (a tombstone version: history and rollback still work)."""
    norm = confine_path(path)
    head = _head(conn, ns, norm)
    if head is None or head[1]:
        return False
    _add_version(conn, ns, norm, None, False, quota)
    return True


def history(conn: sqlite3.Connection, ns: str, path: str) -> list[FileVersion]:
    """The retained versions of a file, oldest first."""
    norm = confine_path(path)
    rows = conn.execute(
        "SELECT version, size, sha256, created_at, content IS NULL, note FROM file_versions"
        " WHERE namespace = ? AND path = ? ORDER BY version",
        (ns, norm),
    ).fetchall()
    if not rows:
        raise NotFound(f"no file {norm!r} in namespace {ns!r}", path=norm)
    return [
        FileVersion(
            version=r[0], size=r[1], sha256=r[2], created_at=r[3], deleted=bool(r[4]), note=r[5]
        )
        for r in rows
    ]


def rollback(conn: sqlite3.Connection, ns: str, path: str, version: int, quota: FileQuota) -> int:
    """Make `version`'s content current again (as a new version); returns that version."""
    norm = confine_path(path)
    row = conn.execute(
        "SELECT content, is_text FROM file_versions WHERE namespace = ? AND path = ?"
        " AND version = ?",
        (ns, norm, version),
    ).fetchone()
    if row is None or row[0] is None:
        raise NotFound(f"{norm!r} has no version {version} with content", path=norm)
    return _add_version(conn, ns, norm, row[0], bool(row[1]), quota, note=f"rollback to {version}")


def diff(conn: sqlite3.Connection, ns: str, path: str, old: int, new: int | None = None) -> str:
    """A unified diff from version `old` to version `new` (default: the current one)."""
    norm = confine_path(path)
    head = _head(conn, ns, norm)
    if head is None:
        raise NotFound(f"no file {norm!r} in namespace {ns!r}", path=norm)
    new = head[0] if new is None else new
    sides: list[tuple[bytes, bool]] = []
    for v in (old, new):
        row = conn.execute(
            "SELECT content, is_text FROM file_versions WHERE namespace = ? AND path = ?"
            " AND version = ?",
            (ns, norm, v),
        ).fetchone()
        if row is None:
            raise NotFound(f"{norm!r} has no version {v}", path=norm, version=v)
        data = b"" if row[0] is None else bytes(row[0])  # a deletion diffs as empty
        if len(data) > MAX_DIFF_BYTES:
            raise RequestTooLarge(f"version {v} of {norm!r} is too large to diff")
        sides.append((data, bool(row[1]) or row[0] is None))
    (a, a_text), (b, b_text) = sides
    if not (a_text and b_text):
        return "" if a == b else f"Binary files {norm}@{old} and {norm}@{new} differ\n"
    lines = difflib.unified_diff(
        a.decode("utf-8").splitlines(keepends=True),
        b.decode("utf-8").splitlines(keepends=True),
        f"{norm}@{old}",
        f"{norm}@{new}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
