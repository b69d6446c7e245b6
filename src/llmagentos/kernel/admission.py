"""Admission of live syscalls: capability and policy decisions, quotas, approvals by a
person, and journaling of refusals so a replay refuses the same way."""

from __future__ import annotations

import time

from llmagentos import records
from llmagentos.access import AccessController, ApprovalStore, Decision, check_quota, target_of
from llmagentos.errors import ApprovalRejected, PermissionDenied, QuotaExceeded, as_error_info
from llmagentos.kernel.config import KernelConfig
from llmagentos.kernel.events import EventBus
from llmagentos.kernel.process import Process, ProcessState
from llmagentos.kernel.syscalls import LLMCall, Syscall
from llmagentos.storage.journal import JournalBuffer


class Admission:
    """Mixin of `Kernel`: deciding whether a live call may run."""

    config: KernelConfig
    access: AccessController
    approvals: ApprovalStore
    events: EventBus
    jbuf: JournalBuffer
    default_model: str | None

    def _set_state(self, proc: Process, state: ProcessState) -> None:
        if proc.state is ProcessState.SUSPENDED and not state.terminal:
            return  # a call finishing while suspended must not release the hold
        proc.transition(state)
        if self.events.active:
            self.events.emit("state", proc.pid, state=str(state))

    def _access_view(self, proc: Process, call: Syscall) -> Syscall:
        """The call as access control should see it: a model call that names no model is
        checked as a call to the kernel's default model."""
        if (
            proc.models_restricted
            and isinstance(call, LLMCall)
            and not call.request.model
            and self.default_model is not None
        ):
            return LLMCall(records.replace(call.request, model=self.default_model), call.stream)
        return call

    async def _admit(self, proc: Process, seq: int, call: Syscall, decision: Decision) -> None:
        """Act on an access decision and the quotas; a refusal is journaled like any result."""
        try:
            if decision.effect == "deny":
                raise PermissionDenied(decision.reason, pid=proc.pid)
            check_quota(
                proc.caps,
                used_tokens=proc.tree_tokens,
                used_tool_calls=proc.tree_tool_calls,
                used_syscalls=proc.syscalls - 1,
                elapsed_s=time.time() - (proc.started_at or time.time()),
                call=call,
            )
            for up in proc.chain()[1:]:  # a child spends from its ancestors' budgets too
                check_quota(up.caps, up.tree_tokens, up.tree_tool_calls, 0, 0.0, call)
            if decision.effect == "ask":
                await self._await_approval(proc, seq, call, decision.reason)
        except (PermissionDenied, QuotaExceeded, ApprovalRejected) as exc:
            await self.journal_error(proc, seq, call, exc)
            raise

    async def _await_approval(self, proc: Process, seq: int, call: Syscall, reason: str) -> None:
        kind, target = target_of(call, proc.namespace)
        approval = await self.approvals.request(
            proc.pid, seq, proc.program, call, call.kind, target or kind, reason
        )
        self._set_state(proc, ProcessState.WAITING)
        if self.events.active:
            self.events.emit("approval", proc.pid, id=approval.id, target=target, reason=reason)
        try:
            decided = await self.approvals.wait(approval.id)
        finally:
            if proc.state is ProcessState.WAITING:
                self._set_state(proc, ProcessState.RUNNING)
        if decided.status != "approved":
            raise ApprovalRejected(
                f"a person rejected {type(call).__name__} ({target}):"
                f" {decided.note or 'no reason given'}",
                approval=approval.id,
            )

    async def journal_error(
        self, proc: Process, seq: int, call: Syscall, exc: BaseException, text: str | None = None
    ) -> None:
        """Record that a call failed, so a replay fails it the same way."""
        if not self.config.journal:
            return
        text = text if text is not None else records.dumps(call)
        err = records.dumps(as_error_info(exc))
        self.jbuf.finished(proc.pid, seq, call.kind, text, err, ok=False)
