"""The access controller: decides each system call, capabilities first, then policy.

`check` runs on every syscall, so it is built to be cheap: the call's target is found by
a dispatch on its type, allow-lists are compiled once (`capabilities.matches`), policy
rules are pre-filtered by kind and their decisions built in advance, and the audit row
is queued without waiting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from llmagentos.access.audit import AuditLog
from llmagentos.access.capabilities import allowed_patterns, allows, derive, matches
from llmagentos.access.policy import Decision, Policy
from llmagentos.errors import InvalidArgument, PermissionDenied
from llmagentos.kernel.syscalls import (
    Capabilities,
    FileDelete,
    FileDiff,
    FileHistory,
    FileList,
    FileRead,
    FileRollback,
    FileWrite,
    Forget,
    KVDelete,
    KVGet,
    KVList,
    KVPut,
    LLMCall,
    Publish,
    Recall,
    Remember,
    Request,
    Send,
    Spawn,
    Subscribe,
    Syscall,
    ToolInvoke,
    Unsubscribe,
)
from llmagentos.records import record

__all__ = ["AccessController", "PeerResolver", "Subject", "target_of"]

PeerResolver = Callable[[int | str], Iterable[str]]
"""Given a message's `to` (pid or name), the other names it goes by (its pid and name)."""


@record
class Subject:
    """The process a call comes from."""

    pid: int
    name: str
    program: str


# -- targets ----------------------------------------------------------------------------

_NAMESPACED: Final = (
    KVPut,
    KVGet,
    KVDelete,
    KVList,
    FileWrite,
    FileRead,
    FileList,
    FileDelete,
    FileDiff,
    FileHistory,
    FileRollback,
    Remember,
    Recall,
    Forget,
)

_Target = Callable[[Syscall, str], tuple[str, str]]


def _namespace(call: Syscall, own: str) -> tuple[str, str]:
    ns: str | None = getattr(call, "namespace", None)
    return ("namespaces", ns or own)


def _peer(call: Syscall, own: str) -> tuple[str, str]:
    assert isinstance(call, (Send, Request))
    return ("peers", str(call.to))


def _topic(call: Syscall, own: str) -> tuple[str, str]:
    assert isinstance(call, (Publish, Subscribe, Unsubscribe))
    return ("topics", call.topic)


def _tool(call: Syscall, own: str) -> tuple[str, str]:
    assert isinstance(call, ToolInvoke)
    return ("tools", call.name)


def _model(call: Syscall, own: str) -> tuple[str, str]:
    assert isinstance(call, LLMCall)
    return ("models", call.request.model or "default")


def _spawn(call: Syscall, own: str) -> tuple[str, str]:
    assert isinstance(call, Spawn)
    return ("spawn", call.program)


_TARGETS: Final[dict[type[Syscall], _Target]] = {
    ToolInvoke: _tool,
    LLMCall: _model,
    Send: _peer,
    Request: _peer,
    Publish: _topic,
    Subscribe: _topic,
    Unsubscribe: _topic,
    Spawn: _spawn,
    **{t: _namespace for t in _NAMESPACED},
}


def target_of(call: Syscall, own_namespace: str) -> tuple[str, str]:
    """The capability field that governs `call` and the target it names (`("", "")`: none)."""
    fn = _TARGETS.get(type(call))
    return fn(call, own_namespace) if fn is not None else ("", "")


# -- messages ---------------------------------------------------------------------------

_VERBS: Final = {
    "tools": ("use tool", "tools"),
    "namespaces": ("access namespace", "namespaces"),
    "peers": ("message process", "peers"),
    "topics": ("use topic", "topics"),
    "models": ("use model", "models"),
}


def _denial(subject: Subject, caps: Capabilities, field: str, target: str) -> str:
    who = f"process {subject.pid} ({subject.name})"
    if field == "spawn":
        return f"{who} may not spawn processes (asked to spawn {target!r})"
    verb, noun = _VERBS[field]
    allowed = allowed_patterns(caps, field)
    return f"{who} may not {verb} {target!r}: allowed {noun} are {list(allowed or ())}"


# -- the controller ---------------------------------------------------------------------


class AccessController:
    """Decides system calls: capabilities, then policy; every decision is audited."""

    def __init__(
        self,
        policy: Policy | None = None,
        audit: AuditLog | None = None,
        *,
        resolve_peer: PeerResolver | None = None,
    ) -> None:
        self.policy = policy if policy is not None else Policy()
        self.audit = audit
        self.resolve_peer = resolve_peer

    def check(
        self, subject: Subject, caps: Capabilities, call: Syscall, own_namespace: str
    ) -> Decision:
        """Decide `call` by `subject` holding `caps`; the result is audited before return."""
        field, target = target_of(call, own_namespace)
        decision = self._capability_denial(subject, caps, call, field, target, own_namespace)
        if decision is None:
            decision = self.policy.decide(call.kind, target, subject.program, subject.name)
        if self.audit is not None:
            self.audit.record(subject, call.kind, target, decision)
        return decision

    def require(
        self, subject: Subject, caps: Capabilities, call: Syscall, own_namespace: str
    ) -> Decision:
        """`check`, raising `PermissionDenied` on deny (an "ask" is returned to the caller)."""
        decision = self.check(subject, caps, call, own_namespace)
        if decision.effect == "deny":
            raise PermissionDenied(decision.reason, pid=subject.pid, kind=call.kind)
        return decision

    def _capability_denial(
        self,
        subject: Subject,
        caps: Capabilities,
        call: Syscall,
        field: str,
        target: str,
        own_namespace: str,
    ) -> Decision | None:
        """A deny decision when capabilities forbid the call, else None."""
        if not field:
            return None  # Reply, Receive, Wait, Kill, Now, Sleep: nothing to guard
        if field == "namespaces" and target == own_namespace:
            return None  # a process always owns its namespace
        if allows(caps, field, target):
            if isinstance(call, Spawn) and call.capabilities is not None:
                return _spawn_denial(subject, caps, call)
            return None
        if field == "peers" and self._peer_alias_allowed(caps, call):
            return None
        return Decision("deny", _denial(subject, caps, field, target))

    def _peer_alias_allowed(self, caps: Capabilities, call: Syscall) -> bool:
        """Peers may be listed by pid or by name; try the other names the recipient has."""
        if self.resolve_peer is None or not isinstance(call, (Send, Request)):
            return False
        patterns = caps.peers
        if patterns is None:
            return True
        return any(matches(patterns, alias) for alias in self.resolve_peer(call.to))


def _spawn_denial(subject: Subject, caps: Capabilities, call: Spawn) -> Decision | None:
    """Refuse a spawn that asks for more than the parent has (checked again at spawn)."""
    try:
        derive(caps, call.capabilities)
    except (PermissionDenied, InvalidArgument) as exc:
        who = f"process {subject.pid} ({subject.name})"
        return Decision("deny", f"{who} {exc.message}")
    return None
