"""API keys: scopes, per-key capabilities and budgets, stored hashed in the OS database.

A key reads `lak_<id>_<secret>`. The id is public and indexes the row; the secret is
random (256 bits), so a salted SHA-256 is enough to store it: there is nothing to
brute-force, and checking it costs microseconds on every request, unlike a password hash.
The plain key is shown once, when it is created, and never stored.

Scopes nest: `admin` includes `operate`, which includes `read`. A key may also carry rate
limits (requests and tokens per minute; see `llmagentos.server.ratelimit`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import time
from collections.abc import Callable
from typing import Any, Final, Literal

from llmagentos import records
from llmagentos.errors import InvalidArgument, InvalidState, NotFound
from llmagentos.kernel.syscalls import Capabilities
from llmagentos.records import record
from llmagentos.storage.db import Database

Scope = Literal["read", "operate", "admin"]
SCOPES: Final[tuple[Scope, ...]] = ("read", "operate", "admin")
_IMPLIED: Final[dict[str, frozenset[str]]] = {
    "read": frozenset({"read"}),
    "operate": frozenset({"read", "operate"}),
    "admin": frozenset({"read", "operate", "admin"}),
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_TOKEN = re.compile(r"^lak_([a-z0-9]{12})_([A-Za-z0-9_-]{20,128})$")

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS api_keys (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    key_id TEXT NOT NULL UNIQUE,
    salt BLOB NOT NULL,
    hash BLOB NOT NULL,
    scopes TEXT NOT NULL,
    caps TEXT NOT NULL,
    programs TEXT NOT NULL,
    used_tokens INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    last_used REAL,
    revoked INTEGER NOT NULL DEFAULT 0,
    rpm INTEGER,
    tpm INTEGER
);
"""
# Columns added after the first release, with their types: `upgrade` adds them to an older
# table (SQLite has no ADD COLUMN IF NOT EXISTS).
_ADDED: Final = {"rpm": "INTEGER", "tpm": "INTEGER"}
_COLUMNS: Final = (
    "id, name, key_id, scopes, caps, programs, used_tokens, created_at, last_used, revoked,"
    " rpm, tpm"
)
_NCOLS: Final = 12


def create_table(conn: sqlite3.Connection) -> None:
    """Create the keys table, or bring one made by an older version up to date."""
    conn.execute(SCHEMA)  # `execute`, not `executescript`, which would commit a batch
    upgrade(conn)


def upgrade(conn: sqlite3.Connection) -> None:
    """Add the columns a table created by an older version lacks (after `SCHEMA`)."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(api_keys)")}
    for name, kind in _ADDED.items():
        if name not in have:
            conn.execute(f"ALTER TABLE api_keys ADD COLUMN {name} {kind}")


@record
class ApiKey:
    """A stored key, without its secret."""

    id: int
    name: str
    key_id: str
    scopes: tuple[str, ...]
    caps: Capabilities
    programs: tuple[str, ...]  # fnmatch patterns of programs the key may spawn
    used_tokens: int = 0
    created_at: float = 0.0
    last_used: float | None = None
    revoked: bool = False
    requests_per_minute: int | None = None  # None: no limit
    tokens_per_minute: int | None = None

    def allows(self, scope: str) -> bool:
        """Whether the key holds `scope` (directly or through a wider one)."""
        return any(scope in _IMPLIED.get(s, ()) for s in self.scopes)


def _hash(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode()).digest()


def _row_key(row: sqlite3.Row | tuple[Any, ...]) -> ApiKey:
    kid, name, key_id, scopes, caps, programs, used, created, last, revoked, rpm, tpm = tuple(row)
    return ApiKey(
        id=kid,
        name=name,
        key_id=key_id,
        scopes=tuple(json.loads(scopes)),
        caps=records.loads(caps),
        programs=tuple(json.loads(programs)),
        used_tokens=used,
        created_at=created,
        last_used=last,
        revoked=bool(revoked),
        requests_per_minute=rpm,
        tokens_per_minute=tpm,
    )


def check_scopes(scopes: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    if isinstance(scopes, str) or not scopes:
        raise InvalidArgument(f"scopes must be a non-empty list of {list(SCOPES)}")
    bad = [s for s in scopes if s not in SCOPES]
    if bad:
        raise InvalidArgument(f"unknown scopes {bad}; use {list(SCOPES)}")
    return tuple(dict.fromkeys(scopes))


class KeyStore:
    """API keys in the `api_keys` table; verified keys are cached for `cache_s` seconds."""

    SCHEMA: Final = SCHEMA

    def __init__(self, db: Database, *, cache_s: float = 5.0) -> None:
        self.db = db
        self.cache_s = cache_s
        self._cache: dict[str, tuple[float, ApiKey]] = {}  # full token digest -> (expiry, key)
        self._touched: dict[int, float] = {}

    # -- creating and managing ---------------------------------------------------------

    def create(
        self,
        name: str,
        scopes: tuple[str, ...] | list[str] = ("read",),
        *,
        caps: Capabilities | None = None,
        programs: tuple[str, ...] = ("*",),
        requests_per_minute: int | None = None,
        tokens_per_minute: int | None = None,
    ) -> tuple[ApiKey, str]:
        """Store a new key; returns it and the plain token (shown once, never stored).

        Blocking: call it from a thread other than the kernel's loop (see `acreate`)."""
        limits = (requests_per_minute, tokens_per_minute)
        return self.db.write_sync(self._creator(name, scopes, caps, programs, limits))

    async def acreate(
        self,
        name: str,
        scopes: tuple[str, ...] | list[str] = ("read",),
        *,
        caps: Capabilities | None = None,
        programs: tuple[str, ...] = ("*",),
        requests_per_minute: int | None = None,
        tokens_per_minute: int | None = None,
    ) -> tuple[ApiKey, str]:
        """`create` for code on the event loop."""
        limits = (requests_per_minute, tokens_per_minute)
        return await self.db.write(self._creator(name, scopes, caps, programs, limits))

    def _creator(
        self,
        name: str,
        scopes: tuple[str, ...] | list[str],
        caps: Capabilities | None,
        programs: tuple[str, ...],
        limits: tuple[int | None, int | None] = (None, None),
    ) -> Callable[[sqlite3.Connection], tuple[ApiKey, str]]:
        if not isinstance(name, str) or not _NAME.match(name):
            raise InvalidArgument(
                f"key name {name!r}: 1-64 letters, digits, '_', '.', '-', starting alnum"
            )
        scopes = check_scopes(scopes)
        for label, limit in zip(("requests_per_minute", "tokens_per_minute"), limits, strict=True):
            if limit is not None and (
                isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
            ):
                raise InvalidArgument(f"{label} must be a positive integer or none, got {limit!r}")
        key_id = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        token = f"lak_{key_id}_{secret}"

        def insert(conn: sqlite3.Connection) -> tuple[ApiKey, str]:
            if conn.execute("SELECT 1 FROM api_keys WHERE name = ?", (name,)).fetchone():
                raise InvalidState(f"a key named {name!r} already exists", name=name)
            conn.execute(
                "INSERT INTO api_keys (name, key_id, salt, hash, scopes, caps, programs,"
                " created_at, rpm, tpm) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    key_id,
                    salt,
                    _hash(salt, secret),
                    json.dumps(list(scopes)),
                    records.dumps(caps or Capabilities()),
                    json.dumps(list(programs)),
                    time.time(),
                    *limits,
                ),
            )
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM api_keys WHERE key_id = ?", (key_id,)
            ).fetchone()
            return _row_key(row), token

        return insert

    def list(self) -> list[ApiKey]:
        rows = self.db.query(f"SELECT {_COLUMNS} FROM api_keys ORDER BY id")
        return [_row_key(r) for r in rows]

    def get(self, name: str) -> ApiKey:
        row = self.db.query_one(f"SELECT {_COLUMNS} FROM api_keys WHERE name = ?", (name,))
        if row is None:
            raise NotFound(f"no API key named {name!r}", name=name)
        return _row_key(row)

    def revoke_sync(self, name: str) -> ApiKey:
        """Revoke a key (blocking; see `revoke`)."""
        return self.db.write_sync(self._revoker(name))

    async def revoke(self, name: str) -> ApiKey:
        """Revoke a key: it stops working at once here, and within `cache_s` in other
        servers on the same database."""
        return await self.db.write(self._revoker(name))

    def _revoker(self, name: str) -> Callable[[sqlite3.Connection], ApiKey]:
        def update(conn: sqlite3.Connection) -> ApiKey:
            cur = conn.execute("UPDATE api_keys SET revoked = 1 WHERE name = ?", (name,))
            if cur.rowcount == 0:
                raise NotFound(f"no API key named {name!r}", name=name)
            self._cache.clear()
            row = conn.execute(f"SELECT {_COLUMNS} FROM api_keys WHERE name = ?", (name,))
            return _row_key(row.fetchone())

        return update

    async def add_usage(self, usage: dict[str, int]) -> None:
        """Add tokens used per key name to their stored totals."""
        if not usage:
            return

        def update(conn: sqlite3.Connection) -> None:
            for name, tokens in usage.items():
                conn.execute(
                    "UPDATE api_keys SET used_tokens = used_tokens + ? WHERE name = ?",
                    (tokens, name),
                )

        await self.db.write(update)

    # -- verifying ---------------------------------------------------------------------

    def authenticate(self, token: str) -> ApiKey | None:
        """The live key `token` is, or None (unknown, malformed, wrong secret, revoked)."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        match = _TOKEN.match(token)
        if match is None:
            return None
        key_id, secret = match.groups()
        row = self.db.query_one(
            f"SELECT {_COLUMNS}, salt, hash FROM api_keys WHERE key_id = ?", (key_id,)
        )
        if row is None or row["revoked"]:
            return None
        if not hmac.compare_digest(_hash(row["salt"], secret), row["hash"]):
            return None
        key = _row_key(tuple(row)[:_NCOLS])
        if len(self._cache) > 10_000:  # bounded: a flood of distinct valid keys is unlikely
            self._cache.clear()
        self._cache[digest] = (now + self.cache_s, key)
        self._touch(key)
        return key

    def _touch(self, key: ApiKey) -> None:
        """Record when a key was last used, at most once a minute per key."""
        now = time.time()
        if now - self._touched.get(key.id, 0.0) < 60:
            return
        self._touched[key.id] = now
        self.db.write_nowait(
            lambda c: c.execute("UPDATE api_keys SET last_used = ? WHERE id = ?", (now, key.id))
        )


def key_names(db_path: str) -> list[str]:
    """Key names in a database file, read without a kernel (empty when there is none yet)."""
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return []
    try:
        return [r[0] for r in conn.execute("SELECT name FROM api_keys")]
    except sqlite3.Error:
        return []
    finally:
        conn.close()
