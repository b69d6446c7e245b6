"""The public surface of `llmagentos.access`, pinned."""

from __future__ import annotations

import llmagentos.access as access


def test_all_is_pinned() -> None:
    assert sorted(access.__all__) == sorted(
        [
            "BUDGET_FIELDS",
            "KINDS",
            "PATTERN_FIELDS",
            "ROOT",
            "SCHEMAS",
            "AccessController",
            "Approval",
            "ApprovalStatus",
            "ApprovalStore",
            "AuditEntry",
            "AuditLog",
            "Capabilities",
            "Decision",
            "Effect",
            "PeerResolver",
            "Policy",
            "Rule",
            "Subject",
            "allowed_patterns",
            "allows",
            "check_quota",
            "covers",
            "derive",
            "matcher",
            "matches",
            "remaining_tokens",
            "target_of",
        ]
    )
    for name in access.__all__:
        assert hasattr(access, name), name


def test_schemas_are_idempotent_ddl() -> None:
    import sqlite3

    conn = sqlite3.connect(":memory:")
    for _ in range(2):
        for ddl in access.SCHEMAS:
            conn.executescript(ddl)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"audit", "approvals"} <= tables
