"""Operator processes: each API key acts through a long-lived process of its own.

Everything a client does through the server that is an effect (a chat completion, a
message, a storage write, a spawn) becomes a system call of its key's operator process.
So the kernel schedules, meters, checks, journals and audits HTTP clients exactly like
agents: an OpenAI client shares the models fairly with agents (the scheduler's
least-attained-service policy counts each key's program `api:<name>` as one flow), a key's
capabilities and budgets are the process's, and its children inherit them.

An operator is an ordinary spawned process whose program waits until the server stops.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from llmagentos import records
from llmagentos.errors import UnknownProcess
from llmagentos.kernel.context import ProcessContext
from llmagentos.kernel.process import Process
from llmagentos.kernel.syscalls import Capabilities
from llmagentos.server.auth import ApiKey, KeyStore

if TYPE_CHECKING:
    from llmagentos.kernel.kernel import Kernel

PROGRAM_PREFIX = "api:"


def program_of(key_name: str) -> str:
    return PROGRAM_PREFIX + key_name


class OperatorPool:
    """The operator process of each key, created on first use, ended at `close`."""

    def __init__(self, kernel: Kernel, keys: KeyStore) -> None:
        self.kernel = kernel
        self.keys = keys
        self._pids: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._stop = asyncio.Event()
        self._reported: dict[str, int] = {}  # tokens already added to the key's usage
        self._running: dict[int, asyncio.Event] = {}

    def register(self, key_name: str) -> None:
        """Make `api:<key_name>` a program the kernel can resolve (also for recovery)."""
        self.kernel.register_program(program_of(key_name), self._run)

    async def _run(self, ctx: ProcessContext) -> str:
        # A recovered operator from an earlier server run is not anyone's: end at once.
        if ctx.pid not in self._pids.values():
            return "ended: left over from an earlier server run"
        self._running[ctx.pid].set()
        await self._stop.wait()
        return "server stopped"

    async def process(self, key: ApiKey) -> Process:
        """The key's live operator process (a new one if it has none or it ended)."""
        proc = await self._live(key.name)
        if proc is not None:
            return proc
        async with self._locks.setdefault(key.name, asyncio.Lock()):
            proc = await self._live(key.name)
            if proc is not None:
                return proc
            await self._flush_one(key.name)
            self.register(key.name)
            fresh = self.keys.get(key.name)  # usage may have grown since the key was cached
            pid = await self.kernel.spawn(
                program_of(key.name),
                {},
                name=f"api-{key.name}",
                capabilities=_remaining(fresh.caps, fresh.used_tokens),
            )
            self._pids[key.name] = pid
            self._reported[key.name] = 0
            self._running[pid] = asyncio.Event()
            live = await self._live(key.name)
            assert live is not None
            return live

    async def _live(self, name: str) -> Process | None:
        """The key's operator once its program runs, or None when it has none or it ended.

        Calls are made only once the program runs: the kernel moves a process between
        running and waiting around its calls, which a process still "ready" cannot do."""
        pid = self._pids.get(name)
        if pid is None:
            return None
        proc = self.kernel.get(pid)
        if proc.state.terminal:
            return None
        running = self._running.get(pid)
        if running is not None and not running.is_set():
            await asyncio.wait_for(running.wait(), 30)
        return proc

    async def context(self, key: ApiKey) -> ProcessContext:
        return ProcessContext(self.kernel, await self.process(key))

    def pids(self) -> dict[str, int]:
        return dict(self._pids)

    def owns(self, key: ApiKey, pid: int) -> bool:
        """Whether `pid` is the key's operator or descends from one (of any server run)."""
        program = program_of(key.name)
        seen = 0
        current: int | None = pid
        while current is not None and seen < 1000:
            seen += 1
            prog, parent = self._lookup(current)
            if prog == program:
                return True
            current = parent
        return False

    def _lookup(self, pid: int) -> tuple[str | None, int | None]:
        try:
            proc = self.kernel.get(pid)
            return proc.program, proc.parent
        except UnknownProcess:
            row = self.kernel.db.query_one(
                "SELECT program, parent FROM processes WHERE pid=?", (pid,)
            )
            return (row["program"], row["parent"]) if row else (None, None)

    async def flush_usage(self) -> None:
        """Add the tokens each operator tree used since the last flush to its key's total."""
        for name in list(self._pids):
            await self._flush_one(name)

    async def _flush_one(self, name: str) -> None:
        pid = self._pids.get(name)
        if pid is None:
            return
        try:
            used = self.kernel.get(pid).tree_tokens
        except UnknownProcess:
            return
        delta = used - self._reported.get(name, 0)
        if delta > 0:
            self._reported[name] = used
            await self.keys.add_usage({name: delta})

    async def close(self, timeout_s: float = 5.0) -> None:
        """End every operator (its program returns) and record the keys' usage."""
        self._stop.set()
        waits = [self.kernel.wait(pid, timeout_s) for pid in self._pids.values()]
        await asyncio.gather(*waits, return_exceptions=True)
        await self.flush_usage()


def _remaining(caps: Capabilities, used_tokens: int) -> Capabilities:
    """A key's capabilities with its token budget reduced by what earlier runs used."""
    if caps.max_tokens is None or used_tokens <= 0:
        return caps
    return records.replace(caps, max_tokens=max(0, caps.max_tokens - used_tokens))


def describe_caps(caps: Capabilities) -> dict[str, Any]:
    """Capabilities as plain JSON (for API responses)."""
    out: dict[str, Any] = {}
    for name in Capabilities.__dataclass_fields__:
        value = getattr(caps, name)
        out[name] = list(value) if isinstance(value, tuple) else value
    return out
