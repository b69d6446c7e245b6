"""Processes: the state machine, the process control block, and its public snapshot."""

from __future__ import annotations

import asyncio
import concurrent.futures
import enum
import time
from dataclasses import dataclass, field
from typing import Any

from llmagentos.access.capabilities import has_magic
from llmagentos.access.controller import Subject
from llmagentos.errors import InvalidState
from llmagentos.kernel.syscalls import Capabilities
from llmagentos.records import record


class ProcessState(enum.StrEnum):
    """Where a process is in its life."""

    NEW = "new"
    READY = "ready"
    RUNNING = "running"
    WAITING = "waiting"
    SUSPENDED = "suspended"
    DONE = "done"
    FAILED = "failed"
    KILLED = "killed"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset({ProcessState.DONE, ProcessState.FAILED, ProcessState.KILLED})
S = ProcessState
# Legal moves. Any live state may be killed or may fail (an exception, a quota).
TRANSITIONS: dict[ProcessState, frozenset[ProcessState]] = {
    S.NEW: frozenset({S.READY, S.SUSPENDED, S.KILLED, S.FAILED}),
    S.READY: frozenset({S.RUNNING, S.SUSPENDED, S.KILLED, S.FAILED}),
    S.RUNNING: frozenset({S.WAITING, S.SUSPENDED, S.DONE, S.FAILED, S.KILLED}),
    S.WAITING: frozenset({S.RUNNING, S.SUSPENDED, S.DONE, S.FAILED, S.KILLED}),
    S.SUSPENDED: frozenset({S.READY, S.RUNNING, S.WAITING, S.KILLED, S.FAILED}),
    S.DONE: frozenset(),
    S.FAILED: frozenset(),
    S.KILLED: frozenset(),
}


@record
class Accounting:
    """What a process has consumed so far."""

    tokens_in: int = 0
    tokens_out: int = 0
    llm_calls: int = 0
    tool_calls: int = 0
    syscalls: int = 0
    queue_time_s: float = 0.0
    wall_time_s: float = 0.0
    # tokens of the context manager's summaries written for this process: kernel calls,
    # not journaled, so this record is what carries them (and their budget charge)
    # across a restart
    summary_tokens: int = 0

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out


@record
class ProcessInfo:
    """A snapshot of one process, as `ps`, the API and the dashboard show it."""

    pid: int
    name: str
    program: str
    parent: int | None
    state: str
    priority: int
    created_at: float
    started_at: float | None
    ended_at: float | None
    usage: Accounting
    error: str | None = None
    result: Any = None
    restarts: int = 0


@dataclass(eq=False)
class Process:
    """The kernel's process control block (mutable, owned by the kernel loop)."""

    pid: int
    name: str
    program: str
    args: dict[str, Any]
    parent: int | None
    priority: int
    caps: Capabilities
    namespace: str
    state: ProcessState = ProcessState.NEW
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    ended_at: float | None = None
    result: Any = None
    error: str | None = None
    restarts: int = 0
    # accounting, mutated in place on the hot path (cheaper than rebuilding a record)
    tokens_in: int = 0
    tokens_out: int = 0
    llm_calls: int = 0
    tool_calls: int = 0
    syscalls: int = 0
    queue_time_s: float = 0.0
    summary_tokens: int = 0
    # execution
    seq: int = 0
    replay: dict[int, Any] = field(default_factory=dict)
    task: asyncio.Task[Any] | None = None
    resumed: asyncio.Event = field(default_factory=asyncio.Event)
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    killed: bool = False
    thread_calls: set[concurrent.futures.Future[Any]] = field(default_factory=set)
    # budgets hold for a whole tree: a child's use counts against every ancestor's budget
    up: Process | None = None
    tree_tokens: int = 0
    tree_tool_calls: int = 0
    mailbox_signal: asyncio.Event = field(default_factory=asyncio.Event)
    subscriptions: set[str] = field(default_factory=set)
    dirty: bool = True

    def __post_init__(self) -> None:
        self.resumed.set()
        self.subject = Subject(self.pid, self.name, self.program)
        caps = self.caps
        # Only a real allow-list of models needs the default model resolved before checks.
        self.models_restricted = caps.models is not None and "*" not in caps.models
        only = caps.models[0] if caps.models is not None and len(caps.models) == 1 else None
        self.sole_model: str | None = None if only is None or has_magic(only) else only
        # Budgets need a check on every call; most processes have none (hot path).
        self.budgeted = any(
            v is not None
            for v in (caps.max_tokens, caps.max_tool_calls, caps.max_wall_s, caps.max_syscalls)
        )

    def link(self, parent: Process | None) -> None:
        """Attach to the parent process, whose budgets then also bound this one."""
        self.up = parent
        if parent is not None and parent.budgeted:
            self.budgeted = True

    def chain(self) -> list[Process]:
        """This process and its ancestors, nearest first."""
        out: list[Process] = []
        p: Process | None = self
        while p is not None:
            out.append(p)
            p = p.up
        return out

    def charge_summary(self, tokens: int) -> None:
        """Count tokens the kernel spent summarizing this process's conversation."""
        self.summary_tokens += tokens
        self.charge(tokens=tokens)
        self.dirty = True  # persisted by the next flush: replay cannot rebuild it

    def charge(self, tokens: int = 0, tool_calls: int = 0) -> None:
        """Count usage against this process and every ancestor."""
        p: Process | None = self
        while p is not None:
            p.tree_tokens += tokens
            p.tree_tool_calls += tool_calls
            p = p.up

    def transition(self, new: ProcessState) -> None:
        """Move to `new`, refusing moves the state machine does not allow."""
        if new is self.state:
            return
        if new not in TRANSITIONS[self.state]:
            raise InvalidState(
                f"process {self.pid} ({self.name}) cannot go from {self.state} to {new}",
                pid=self.pid,
            )
        self.state = new
        self.dirty = True
        if new.terminal:
            self.ended_at = time.time()

    @property
    def replaying(self) -> bool:
        """True while the process is re-running syscalls already in the journal."""
        return self.seq in self.replay

    def usage(self) -> Accounting:
        end = self.ended_at or time.time()
        wall = (end - self.started_at) if self.started_at else 0.0
        return Accounting(
            tokens_in=self.tokens_in,
            tokens_out=self.tokens_out,
            llm_calls=self.llm_calls,
            tool_calls=self.tool_calls,
            syscalls=self.syscalls,
            queue_time_s=self.queue_time_s,
            wall_time_s=wall,
            summary_tokens=self.summary_tokens,
        )

    def restore_usage(self, usage: Accounting) -> None:
        self.tokens_in = usage.tokens_in
        self.tokens_out = usage.tokens_out
        self.llm_calls = usage.llm_calls
        self.tool_calls = usage.tool_calls
        self.syscalls = usage.syscalls
        self.queue_time_s = usage.queue_time_s
        self.summary_tokens = usage.summary_tokens

    def info(self) -> ProcessInfo:
        return ProcessInfo(
            pid=self.pid,
            name=self.name,
            program=self.program,
            parent=self.parent,
            state=str(self.state),
            priority=self.priority,
            created_at=self.created_at,
            started_at=self.started_at,
            ended_at=self.ended_at,
            usage=self.usage(),
            error=self.error,
            result=self.result,
            restarts=self.restarts,
        )
