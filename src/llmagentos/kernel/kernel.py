"""The kernel: process table, syscall entry, access and quotas, scheduling, recovery.

Every effect of an agent enters through `Kernel.syscall`. In order, a call is: refused if
the process was killed; held while it is suspended; answered from the journal if the
process is being replayed after a crash (the call must equal the journaled one, else
`NondeterminismError`); checked against capabilities, policy and quotas (a decision that is
"ask" waits, durably, for a person); then handed to its handler (`kernel.handlers`), which
queues it on its resource through the scheduler when it needs one, runs it, and journals it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

from llmagentos import records
from llmagentos.access import (
    ROOT,
    AccessController,
    ApprovalStore,
    AuditLog,
    Policy,
    derive,
)
from llmagentos.access import SCHEMAS as ACCESS_SCHEMAS
from llmagentos.context.manager import ContextManager
from llmagentos.errors import (
    InvalidArgument,
    LLMAgentOSError,
    UnknownProcess,
)
from llmagentos.kernel.callkit import resolve_pid
from llmagentos.kernel.config import KernelConfig
from llmagentos.kernel.control import control_loop, recover
from llmagentos.kernel.entry import SyscallEntry
from llmagentos.kernel.events import EventBus, SyscallTrace
from llmagentos.kernel.execution import describe, run_process
from llmagentos.kernel.policies import make_policy
from llmagentos.kernel.process import Process, ProcessInfo, ProcessState
from llmagentos.kernel.programs import ProgramRegistry, reference_of
from llmagentos.kernel.scheduler import Scheduler
from llmagentos.kernel.slots import Slots
from llmagentos.kernel.syscalls import Capabilities, ExitStatus
from llmagentos.llm.base import LLMBackend
from llmagentos.memory.manager import MemoryManager
from llmagentos.storage import journal
from llmagentos.storage.compaction import Compactor
from llmagentos.storage.db import Database
from llmagentos.storage.lock import StateLock
from llmagentos.storage.managers import MANAGER_SCHEMAS
from llmagentos.storage.schema import CORE_SCHEMA
from llmagentos.tools import ToolRegistry

_TERMINAL = ("done", "failed", "killed")
MAX_RESULT_BYTES = 16 * 1024 * 1024


class Kernel(SyscallEntry, Slots):
    """Boots the managers, runs processes, and serves their system calls."""

    def __init__(
        self,
        config: KernelConfig | None = None,
        *,
        models: dict[str, LLMBackend | str] | None = None,
        tools: ToolRegistry | list[Any] | None = None,
        policy: Policy | None = None,
        **overrides: Any,
    ) -> None:
        self.config = config or KernelConfig()
        for key, value in overrides.items():
            if not hasattr(self.config, key):
                raise InvalidArgument(f"unknown kernel option {key!r}")
            setattr(self.config, key, value)
        self.db = Database(self.config.db_path, durable=self.config.durable)
        self.memory = MemoryManager(self.db, self.config.memory)
        store = self.config.storage
        self.compactor = Compactor(
            self.db, store.compact_interval_s, store.compact_min_rows, store.compact_keep_s
        )
        self.context = ContextManager(self, self.config.context)
        self.compactor.sweepers += [self.memory.sweep, self.context.sweep]
        self.jbuf = journal.JournalBuffer(self.db)
        self.programs = ProgramRegistry()
        self.tools = tools if isinstance(tools, ToolRegistry) else ToolRegistry()
        if isinstance(tools, list):
            for t in tools:
                self.tools.register(t)
        self.models: dict[str, LLMBackend] = {}
        self._model_specs = dict(models or {})
        self.default_model: str | None = self.config.default_model
        self.events = EventBus()
        self.audit = AuditLog(self.db)
        self.access = AccessController(
            policy or Policy([]), self.audit, resolve_peer=self._peer_names
        )
        self.approvals = ApprovalStore(self.db)
        self.scheduler = Scheduler(
            make_policy(self.config.scheduler, **self.config.scheduler_options)
        )
        self._procs: dict[int, Process] = {}
        self._local_programs: dict[str, Callable[..., Any]] = {}
        self._waiters: dict[int, asyncio.Future[float]] = {}
        self._call_ids = itertools.count(1)
        self._next_pid = 1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._control_task: asyncio.Task[None] | None = None
        self._lock = StateLock(self.config.state_dir)
        self._booted = False
        self.stats: dict[str, int] = {}
        self._background: set[asyncio.Future[Any]] = set()
        self._observers: list[Callable[[SyscallTrace], None]] = []

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Kernel:
        await self.boot()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()

    async def boot(self) -> None:
        """Open storage, take the state directory's lock, load models, recover processes."""
        if self._booted:
            return
        self._loop = asyncio.get_running_loop()
        for name, spec in self._model_specs.items():  # bad specs fail before any lock is taken
            self.add_model(name, spec)
        self._lock.acquire()
        try:
            self.db.open([CORE_SCHEMA, *ACCESS_SCHEMAS, *MANAGER_SCHEMAS])
            row = self.db.query_one("SELECT max(pid) FROM processes")
            self._next_pid = (row[0] or 0) + 1 if row else 1
            self._booted = True
            if self.config.recover:
                await recover(self)
        except BaseException:
            self._booted = False
            self.db.close()
            self._lock.release()
            raise
        self._control_task = asyncio.create_task(control_loop(self), name="kernel-control")
        self._control_task.add_done_callback(lambda _: self.context.close())  # at shutdown

    async def shutdown(self) -> None:
        """Stop every process without ending it (it resumes at the next boot), close all."""
        if not self._booted:
            return
        self._booted = False
        if self._control_task:
            self._control_task.cancel()
        tasks = [p.task for p in self._procs.values() if p.task and not p.task.done()]
        for t in tasks:
            t.cancel()
        for proc in self._procs.values():  # threads blocked in a syscall unwind with ProcessExit
            for fut in list(proc.thread_calls):
                fut.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await self._flush_dirty()
        except LLMAgentOSError as exc:
            self.log_kernel_error("shutdown", describe(exc))
        await self.tools.aclose()
        for backend in self.models.values():
            await backend.aclose()
        self.db.close()
        self._lock.release()

    # -- models, tools, programs -----------------------------------------------------------

    def add_model(self, name: str, backend: LLMBackend | str, *, default: bool = False) -> None:
        """Make a model available to processes as `name` (a backend or a model spec)."""
        if isinstance(backend, str):
            from llmagentos.llm.spec import create_backend

            backend = create_backend(backend)
        self.models[name] = backend
        self.scheduler.set_limit(f"llm:{name}", backend.max_concurrency)
        if default or self.default_model is None:
            self.default_model = name

    def add_tool(self, fn: Any) -> None:
        self.tools.register(fn)

    def register_program(self, name: str, fn: Callable[..., Any]) -> None:
        self.programs.register(name, fn)

    def program_reference(self, program: str | Callable[..., Any]) -> str:
        """A durable string for a program; local callables get an in-memory name."""
        if isinstance(program, str):
            return program
        ref = reference_of(program)
        if ref is None:
            ref = f"<local>:{getattr(program, '__qualname__', repr(program))}"
        self._local_programs[ref] = program
        return ref

    def _resolve_program(self, ref: str) -> Callable[..., Any]:
        if ref in self._local_programs:
            found = self._local_programs[ref]
        elif ref.startswith("<local>:"):
            raise LLMAgentOSError(
                f"program {ref} was defined inside a function and cannot be reloaded after a"
                " restart; define it at module level to make it recoverable"
            )
        else:
            found = self.programs.resolve(ref)
        # Agent classes describe how to run them as a program (see sdk.agent).
        adapt = getattr(found, "__llmagentos_program__", None)
        return adapt() if adapt is not None else found

    # -- process management ----------------------------------------------------------------

    async def spawn(
        self,
        program: str | Callable[..., Any],
        args: dict[str, Any] | None = None,
        *,
        name: str | None = None,
        priority: int = 0,
        capabilities: Capabilities | None = None,
        parent: int | None = None,
    ) -> int:
        """Start a process (from outside any process: CLI, server, tests)."""
        self._check_booted()
        ref = self.program_reference(program)
        self._resolve_program(ref)  # fail now, not inside the task
        parent_caps = self._procs[parent].caps if parent in self._procs else ROOT
        caps = derive(parent_caps, capabilities)
        proc = self._new_process(ref, args, name, priority, caps, parent)
        await self.db.write(lambda c: self._insert_process(c, proc))
        self._start(proc)
        return proc.pid

    def _new_process(
        self,
        ref: str,
        args: dict[str, Any] | None,
        name: str | None,
        priority: int,
        caps: Capabilities,
        parent: int | None,
    ) -> Process:
        if args is not None and not isinstance(args, dict):
            raise InvalidArgument("process args must be a dict of JSON values")
        try:
            json.dumps(args or {})
        except TypeError as exc:
            raise InvalidArgument(f"process args must be JSON values: {exc}") from None
        pid = self._next_pid
        self._next_pid += 1
        label = name or ref.rpartition(":")[2] or ref
        proc = Process(pid, label, ref, dict(args or {}), parent, priority, caps, f"proc/{label}")
        proc.link(self._procs.get(parent) if parent is not None else None)
        self._procs[pid] = proc
        if self.events.active:
            self.events.emit("spawn", pid, name=label, program=ref, parent=parent)
        return proc

    def _insert_process(self, conn: Any, proc: Process) -> None:
        conn.execute(
            "INSERT INTO processes(pid, name, program, args, parent, priority, caps, namespace,"
            " state, created_at, restarts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                proc.pid,
                proc.name,
                proc.program,
                json.dumps(proc.args),
                proc.parent,
                proc.priority,
                records.dumps(proc.caps),
                proc.namespace,
                str(proc.state),
                proc.created_at,
                proc.restarts,
            ),
        )

    def _start(self, proc: Process) -> None:
        if proc.state is ProcessState.NEW:
            proc.transition(ProcessState.READY)
        proc.task = asyncio.create_task(run_process(self, proc), name=f"pid-{proc.pid}")
        if proc.caps.max_wall_s is not None:
            started = proc.started_at or time.time()
            delay = max(0.0, started + proc.caps.max_wall_s - time.time())
            assert self._loop is not None
            self._loop.call_later(delay, self._wall_quota_hit, proc)

    async def _finish(
        self, proc: Process, state: ProcessState, *, result: Any = None, error: str | None = None
    ) -> None:
        if proc.state.terminal:
            return
        try:
            size = len(json.dumps(result))
        except (TypeError, ValueError):
            result = repr(result)
            size = len(result)
        if size > MAX_RESULT_BYTES:
            result = None
            error = error or f"result of {size} bytes is over the {MAX_RESULT_BYTES} limit"
            state = ProcessState.FAILED
        proc.result, proc.error = result, error
        proc.transition(state)
        try:
            await self._persist(proc)
        except LLMAgentOSError as exc:
            # The process has ended here even if its row could not be written (a full
            # disk): waiters are told now, and the control loop retries the row.
            proc.dirty = True
            self.log_kernel_error("persist exit", describe(exc))
        finally:
            proc.exited.set()
        if self.events.active:
            self.events.emit("state", proc.pid, state=str(state), error=error)

    def _update_process(self, conn: Any, proc: Process) -> None:
        proc.dirty = False
        conn.execute(
            "UPDATE processes SET state=?, started_at=?, ended_at=?, usage=?, result=?, error=?,"
            " restarts=?, priority=? WHERE pid=?",
            (
                str(proc.state),
                proc.started_at,
                proc.ended_at,
                records.dumps(proc.usage()),
                json.dumps(proc.result),
                proc.error,
                proc.restarts,
                proc.priority,
                proc.pid,
            ),
        )

    def get(self, pid: int) -> Process:
        try:
            return self._procs[pid]
        except KeyError:
            raise UnknownProcess(f"no process with pid {pid}", pid=pid) from None

    def ps(self, *, all: bool = True) -> list[ProcessInfo]:
        """Snapshot of the process table."""
        procs = sorted(self._procs.values(), key=lambda p: p.pid)
        return [p.info() for p in procs if all or not p.state.terminal]

    async def wait(self, pid: int, timeout: float | None = None) -> ExitStatus:
        """Wait for a process to end and return how it ended."""
        proc = self._procs.get(pid)
        if proc is None:
            row = self.db.query_one(
                "SELECT state, result, error FROM processes WHERE pid=?", (pid,)
            )
            if row is None:
                raise UnknownProcess(f"no process with pid {pid}", pid=pid)
            result = json.loads(row["result"]) if row["result"] else None
            return ExitStatus(pid, row["state"], result, row["error"])
        await asyncio.wait_for(proc.exited.wait(), timeout)
        return ExitStatus(pid, str(proc.state), proc.result, proc.error)

    async def run(
        self, program: str | Callable[..., Any], args: dict[str, Any] | None = None, **kw: Any
    ) -> ExitStatus:
        """Spawn a process and wait for it."""
        return await self.wait(await self.spawn(program, args, **kw))

    async def kill(self, pid: int, reason: str = "killed") -> bool:
        """End a process now; its pending syscalls are cancelled. False if already ended."""
        proc = self.get(pid)
        if proc.state.terminal:
            return False
        proc.killed = True
        proc.error = reason
        proc.resumed.set()
        for fut in list(proc.thread_calls):
            fut.cancel()
        if proc.task and not proc.task.done():
            proc.task.cancel()
            await asyncio.gather(proc.task, return_exceptions=True)
        await self._finish(proc, ProcessState.KILLED, error=reason)
        return True

    async def suspend(self, pid: int) -> None:
        """Hold a process at its next syscall until `resume`."""
        proc = self.get(pid)
        proc.transition(ProcessState.SUSPENDED)
        proc.resumed.clear()
        await self._persist(proc)
        if self.events.active:
            self.events.emit("state", pid, state="suspended")

    async def resume(self, pid: int) -> None:
        proc = self.get(pid)
        if proc.resumed.is_set() or proc.state.terminal:
            from llmagentos.errors import InvalidState

            raise InvalidState(f"process {pid} is {proc.state}, not suspended", pid=pid)
        proc.transition(ProcessState.RUNNING if proc.started_at else ProcessState.READY)
        proc.resumed.set()
        await self._persist(proc)
        if self.events.active:
            self.events.emit("state", pid, state=str(proc.state))

    def _wall_quota_hit(self, proc: Process) -> None:
        if not proc.state.terminal:
            reason = f"quota exceeded: wall time {proc.caps.max_wall_s}s"
            task = asyncio.ensure_future(self.kill(proc.pid, reason))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    # -- resources through the scheduler ---------------------------------------------------

    async def _persist(self, proc: Process) -> None:
        await self.db.write(lambda c: self._update_process(c, proc))

    async def _flush_dirty(self) -> None:
        dirty = [p for p in self._procs.values() if p.dirty]

        def flush(conn: Any) -> None:
            for p in dirty:
                self._update_process(conn, p)

        if dirty:
            await self.db.write(flush)

    def log(self, proc: Process, message: str, level: str = "info", *, force: bool = False) -> None:
        """Append to a process's log (skipped while it replays, unless forced)."""
        if proc.replaying and not force:
            return
        ts = time.time()
        self.db.write_nowait(
            lambda c: c.execute(
                "INSERT INTO logs(ts, pid, level, message) VALUES (?, ?, ?, ?)",
                (ts, proc.pid, level, message),
            )
        )
        if self.events.active:
            self.events.emit("log", proc.pid, level=level, message=message[:500])

    def log_kernel_error(self, where: str, message: str) -> None:
        """Record a failure of the kernel's own machinery (not of a process)."""
        self.stats[f"errors:{where}"] = self.stats.get(f"errors:{where}", 0) + 1
        if self.events.active:
            self.events.emit("kernel_error", 0, where=where, message=message)

    def _peer_names(self, to: int | str) -> list[str]:
        """Both names of a message's recipient (pid and process name), for peer checks."""
        try:
            proc = self._procs.get(resolve_pid(self, to))
        except LLMAgentOSError:
            return [str(to)]
        return [str(proc.pid), proc.name] if proc else [str(to)]

    def _check_booted(self) -> None:
        if not self._booted:
            raise InvalidArgument("the kernel is not booted: use `async with Kernel(...)`")
