"""The syscall entry, a mixin of `Kernel`: the gates every call passes, in order.

A call is refused if the process was killed or ran out of wall time; held while the
process is suspended; answered from the journal if the process is being replayed after a
crash (the call must equal the journaled one, else `NondeterminismError`); checked against
capabilities, policy and quotas (`Admission`); then handed to its handler
(`kernel.handlers`). Observers see a `SyscallTrace` of every call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from llmagentos import records
from llmagentos.errors import (
    ErrorInfo,
    InvalidArgument,
    NondeterminismError,
    ProcessKilled,
    error_from_info,
)
from llmagentos.kernel.admission import Admission
from llmagentos.kernel.callkit import account, unencodable
from llmagentos.kernel.events import SyscallTrace
from llmagentos.kernel.execution import describe
from llmagentos.kernel.handlers import HANDLERS
from llmagentos.kernel.process import Process
from llmagentos.kernel.syscalls import LLMCall, Syscall
from llmagentos.storage import journal

if TYPE_CHECKING:
    from llmagentos.kernel.kernel import Kernel


class SyscallEntry(Admission):
    """Mixin of `Kernel`: `syscall`, `enter` and the journal's answers on replay."""

    _observers: list[Callable[[SyscallTrace], None]]

    def log_kernel_error(self, where: str, message: str) -> None:
        raise NotImplementedError  # provided by Kernel

    def observe(self, observer: Callable[[SyscallTrace], None]) -> Callable[[], None]:
        """Call `observer` with a `SyscallTrace` after every syscall; returns an undo.

        Observers run on the kernel loop and must be quick (count, enqueue); with none
        registered, syscalls pay nothing for this.
        """
        self._observers.append(observer)
        return lambda: self._observers.remove(observer)

    async def syscall(self, proc: Process, call: Syscall) -> Any:
        """Serve one system call of `proc` (see the module docstring for the order)."""
        if not self._observers:
            return await self._syscall(proc, call)
        seq, replayed = proc.seq, proc.seq in proc.replay
        wall, t0 = time.time(), time.perf_counter()
        error: BaseException | None = None
        try:
            return await self._syscall(proc, call)
        except BaseException as exc:
            error = exc
            raise
        finally:
            trace = SyscallTrace(
                proc.pid,
                proc.program,
                type(call).__name__,
                call.kind,
                seq,
                wall,
                time.perf_counter() - t0,
                error is None,
                None if error is None else type(error).__name__,
                replayed,
            )
            for observer in self._observers:
                try:
                    observer(trace)
                except Exception as exc:  # an observer's bug must not fail the call
                    self.log_kernel_error("observer", describe(exc))

    async def _syscall(self, proc: Process, call: Syscall) -> Any:
        handler = HANDLERS.get(type(call))
        if handler is None:
            raise InvalidArgument(f"{type(call).__name__} is not a system call")
        if proc.sole_model is not None and type(call) is LLMCall and not call.request.model:
            # A process allowed exactly one model uses it when it names none.
            call = LLMCall(records.replace(call.request, model=proc.sole_model), call.stream)
        try:
            entry = proc.replay.get(proc.seq) if proc.replay else None
            if entry is not None and entry.finished:
                seq = await self.enter(proc, call)
                return self._answer_from_journal(proc, call, entry)
            seq = await self.enter(proc, call)
            return await handler(cast("Kernel", self), proc, seq, call, entry)
        except (TypeError, ValueError) as exc:
            # The journal cannot encode the call: the caller's mistake, not the kernel's.
            # Checked here, after the fact, so the common path encodes each call once.
            bad = unencodable(call)
            if bad is None:
                raise
            raise bad from exc

    async def enter(self, proc: Process, call: Syscall) -> int:
        """Take the call's sequence number after the gates every syscall passes: killed,
        suspended, replay consistency, then (for live calls) access and quotas."""
        if proc.killed or proc.state.terminal:
            raise ProcessKilled(f"process {proc.pid} is {proc.state}")
        if not proc.resumed.is_set():
            await proc.resumed.wait()
            if proc.killed:
                raise ProcessKilled(f"process {proc.pid} was killed")
        wall = proc.caps.max_wall_s
        if wall is not None and proc.started_at and time.time() - proc.started_at >= wall:
            # Wall time is a hard limit: the process is killed, whether the timer or
            # this call notices first (a program must not be able to catch it).
            proc.killed = True
            proc.error = f"quota exceeded: wall time {wall}s"
            raise ProcessKilled(proc.error)
        seq = proc.seq
        proc.seq += 1
        proc.syscalls += 1
        entry = proc.replay.pop(seq, None) if proc.replay else None
        if entry is not None:
            if records.dumps(call) != entry.call:
                raise NondeterminismError(
                    f"process {proc.pid} replayed call #{seq} as {type(call).__name__} but the"
                    f" journal has {entry.call[:200]}; agent code must be deterministic given"
                    " its syscall results",
                    pid=proc.pid,
                    seq=seq,
                )
            return seq
        checked = self._access_view(proc, call)
        decision = self.access.check(proc.subject, proc.caps, checked, proc.namespace)
        if decision.effect != "allow" or proc.budgeted:
            await self._admit(proc, seq, call, decision)
        return seq

    def _answer_from_journal(
        self, proc: Process, call: Syscall, entry: journal.JournalEntry
    ) -> Any:
        value = records.loads(entry.result) if entry.result is not None else None
        account(proc, call, value)
        if entry.status == journal.ERROR:
            raise error_from_info(
                value if isinstance(value, ErrorInfo) else ErrorInfo("Error", str(value))
            )
        return value
