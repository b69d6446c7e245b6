"""Versioned files on a real SQLite file: versions, deletions, rollback, diff, quotas, paths."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmagentos.errors import InvalidArgument, NotFound, QuotaExceeded, RequestTooLarge
from llmagentos.storage import files
from llmagentos.storage.db import Database
from llmagentos.storage.files import FileQuota, confine_path, quota_for

Q = FileQuota()


def run(db: Database, fn: Any) -> Any:
    return db.write_sync(fn)


def test_versions_history_rollback_and_diff(db: Database) -> None:
    for text in ("one\n", "one\ntwo\n", "one\ntwo\n", "three\n"):  # the repeat adds nothing
        run(db, lambda c, t=text: files.write(c, "ns", "notes/a.txt", t, Q))
    hist = run(db, lambda c: files.history(c, "ns", "notes/a.txt"))
    assert [v.version for v in hist] == [1, 2, 3]
    assert hist[0].size == 4 and hist[0].sha256 and not hist[0].deleted
    assert run(db, lambda c: files.read(c, "ns", "notes/a.txt", 2)) == "one\ntwo\n"
    assert run(db, lambda c: files.rollback(c, "ns", "notes/a.txt", 2, Q)) == 4
    assert run(db, lambda c: files.read(c, "ns", "notes/a.txt")) == "one\ntwo\n"
    assert run(db, lambda c: files.history(c, "ns", "notes/a.txt"))[-1].note == "rollback to 2"
    patch = run(db, lambda c: files.diff(c, "ns", "notes/a.txt", 1, 3))
    assert patch.splitlines() == [
        "--- notes/a.txt@1",
        "+++ notes/a.txt@3",
        "@@ -1 +1 @@",
        "-one",
        "+three",
    ]
    assert run(db, lambda c: files.diff(c, "ns", "notes/a.txt", 2)) == ""  # same as current


def test_delete_is_a_tombstone_and_can_be_rolled_back(db: Database) -> None:
    run(db, lambda c: files.write(c, "ns", "a", b"\x00\x01", Q))
    assert run(db, lambda c: files.delete(c, "ns", "a", Q)) is True
    assert run(db, lambda c: files.delete(c, "ns", "a", Q)) is False
    assert run(db, lambda c: files.listing(c, "ns")) == []
    with pytest.raises(NotFound):
        run(db, lambda c: files.read(c, "ns", "a"))
    hist = run(db, lambda c: files.history(c, "ns", "a"))
    assert [v.deleted for v in hist] == [False, True]
    with pytest.raises(NotFound):
        run(db, lambda c: files.read(c, "ns", "a", 2))  # the tombstone has no content
    assert "Binary files" in run(db, lambda c: files.diff(c, "ns", "a", 1))
    run(db, lambda c: files.rollback(c, "ns", "a", 1, Q))
    assert run(db, lambda c: files.read(c, "ns", "a")) == b"\x00\x01"
    assert run(db, lambda c: files.listing(c, "ns")) == ["a"]


def test_missing_things_are_not_found(db: Database) -> None:
    run(db, lambda c: files.write(c, "ns", "a", "x", Q))
    for fn in (
        lambda c: files.read(c, "ns", "b"),
        lambda c: files.read(c, "ns", "a", 7),
        lambda c: files.history(c, "ns", "b"),
        lambda c: files.rollback(c, "ns", "a", 9, Q),
        lambda c: files.diff(c, "ns", "a", 5),
        lambda c: files.diff(c, "ns", "b", 1),
        lambda c: files.read(c, "other", "a"),
    ):
        with pytest.raises(NotFound):
            run(db, fn)


def test_old_versions_are_pruned_and_their_bytes_freed(db: Database) -> None:
    quota = FileQuota(max_versions=3, max_bytes=100)
    for i in range(10):
        run(db, lambda c, i=i: files.write(c, "ns", "f", str(i) * 10, quota))
    assert [v.version for v in run(db, lambda c: files.history(c, "ns", "f"))] == [8, 9, 10]
    row = db.query_one("SELECT bytes, files FROM file_usage WHERE namespace = 'ns'")
    assert row is not None and tuple(row) == (30, 1)


def test_quotas_are_typed_and_leave_nothing_half_written(db: Database) -> None:
    quota = FileQuota(max_bytes=20, max_files=2, max_file_bytes=15)
    run(db, lambda c: files.write(c, "ns", "a", "x" * 10, quota))
    run(db, lambda c: files.write(c, "ns", "b", "y", quota))
    with pytest.raises(QuotaExceeded) as files_full:
        run(db, lambda c: files.write(c, "ns", "c", "z", quota))
    assert files_full.value.details["field"] == "files"
    with pytest.raises(QuotaExceeded) as bytes_full:
        run(db, lambda c: files.write(c, "ns", "a", "x" * 12, quota))
    assert bytes_full.value.details == {
        "namespace": "ns",
        "field": "file_bytes",
        "limit": 20,
        "used": 11,
        "requested": 12,
    }
    with pytest.raises(RequestTooLarge):
        run(db, lambda c: files.write(c, "ns", "b", "y" * 16, quota))
    assert run(db, lambda c: files.read(c, "ns", "a")) == "x" * 10
    assert [v.version for v in run(db, lambda c: files.history(c, "ns", "a"))] == [1]
    run(db, lambda c: files.delete(c, "ns", "b", quota))  # frees a file slot, not bytes
    run(db, lambda c: files.write(c, "ns", "c", "z", quota))
    assert run(db, lambda c: files.listing(c, "ns")) == ["a", "c"]


def test_quota_overrides_by_namespace_glob() -> None:
    small = FileQuota(max_files=1)
    assert quota_for("shared/x", Q, {"shared/*": small}) is small
    assert quota_for("proc/a", Q, {"shared/*": small}) is Q


@pytest.mark.parametrize(
    "path",
    [
        "",
        "   ",
        "/etc/passwd",
        "~/x",
        "C:/x",
        "a\\..\\b",
        "../escape",
        "a/../../b",
        "a/../b",
        "x\x00y",
        "tab\there",
        "dir/",
        ".",
        "./.",
        "a/" + "b" * 256,
        "p" * 1100,
    ],
)
def test_paths_outside_or_ambiguous_are_refused(path: str) -> None:
    with pytest.raises(InvalidArgument):
        confine_path(path)


def test_paths_are_canonical() -> None:
    assert confine_path("a//b/./c.txt") == "a/b/c.txt"
    assert confine_path("./x") == "x"
    assert confine_path("caf\u0065\u0301") == confine_path("caf\u00e9")  # NFC
    assert confine_path("ab:c/...") == "ab:c/..."  # just names, not special


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_a_confined_path_never_escapes(path: str) -> None:
    try:
        norm = confine_path(path)
    except InvalidArgument:
        return
    parts = norm.split("/")
    assert not norm.startswith("/") and "\\" not in norm and "\x00" not in norm
    assert all(p not in ("", ".", "..") for p in parts)
    assert confine_path(norm) == norm  # canonical: idempotent


def test_legacy_files_are_imported_once(tmp_path: Any) -> None:
    from llmagentos.storage.managers import MANAGER_SCHEMAS
    from llmagentos.storage.schema import CORE_SCHEMA

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(CORE_SCHEMA)
    conn.execute(
        "INSERT INTO files(namespace, path, content, is_text, updated_at)"
        " VALUES ('ns', 'old.txt', CAST('hello' AS BLOB), 1, 0)"
    )
    conn.commit()
    conn.close()
    for _ in range(2):  # a second boot imports nothing again
        db = Database(path).open([CORE_SCHEMA, *MANAGER_SCHEMAS])
        assert db.write_sync(lambda c: files.read(c, "ns", "old.txt")) == "hello"
        assert len(db.write_sync(lambda c: files.history(c, "ns", "old.txt"))) == 1
        row = db.query_one("SELECT bytes, files FROM file_usage WHERE namespace = 'ns'")
        assert row is not None and tuple(row) == (5, 1)
        db.close()
