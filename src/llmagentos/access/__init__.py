"""Access control: capabilities per process, allow / deny / ask policy, approvals, audit.

The kernel asks `AccessController.check` about every system call: the caller's
`Capabilities` decide first (`derive` makes a child's from its parent's), then the
`Policy`. An "ask" becomes an `Approval` that a person decides, possibly from another
OS process; `check_quota` enforces budgets; every decision goes to the `AuditLog`.
`SCHEMAS` holds the DDL for `Database.open`.
"""

from __future__ import annotations

from llmagentos.access import approvals as _approvals
from llmagentos.access import audit as _audit
from llmagentos.access.approvals import Approval, ApprovalStatus, ApprovalStore
from llmagentos.access.audit import AuditEntry, AuditLog
from llmagentos.access.capabilities import (
    BUDGET_FIELDS,
    PATTERN_FIELDS,
    ROOT,
    allowed_patterns,
    allows,
    covers,
    derive,
    matcher,
    matches,
)
from llmagentos.access.controller import AccessController, PeerResolver, Subject, target_of
from llmagentos.access.policy import KINDS, Decision, Effect, Policy, Rule
from llmagentos.access.quotas import check_quota, remaining_tokens
from llmagentos.kernel.syscalls import Capabilities

SCHEMAS: tuple[str, ...] = (_audit.SCHEMA, _approvals.SCHEMA)
"""Idempotent DDL for the access manager's tables."""

__all__ = [
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
