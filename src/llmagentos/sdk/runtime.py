"""A kernel on a background thread, for plain synchronous code (scripts, notebooks).

The seed's API (`LLM("...").generate_text(...)`, `agent.run()`) is synchronous and may be
used outside any kernel. Such calls go to the *default runtime*: a kernel booted on its own
event-loop thread, and a `shell` process whose system calls they become. Nothing bypasses
the kernel: the shell's calls are scheduled, metered, permitted and journaled like any.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
from collections.abc import Coroutine
from typing import Any, NoReturn, TypeVar

from llmagentos.kernel.config import KernelConfig
from llmagentos.kernel.context import ProcessContext, SyncContext
from llmagentos.kernel.kernel import Kernel
from llmagentos.kernel.process import Process, ProcessState

T = TypeVar("T")


SHELL_PROGRAM = "<shell>"


async def _ended_shell(ctx: ProcessContext) -> None:
    """What a recovered shell runs: nothing, so it ends (the code it served is gone)."""


class Runtime:
    """Owns a kernel running on a dedicated thread and bridges sync callers to it.

    `Runtime(state_dir=..., models={...}, tools=[...])` takes the `Kernel` options; start
    it with `start()` (or `with Runtime(...) as rt:`), stop it with `stop()`. A stopped
    runtime cannot be started again.
    """

    def __init__(self, kernel: Kernel | None = None, **kernel_options: Any) -> None:
        self.kernel = kernel or Kernel(KernelConfig(), **kernel_options)
        # A shell left unfinished by an OS process that died without `stop` is recovered
        # at the next boot like any process; this program lets it end instead of failing
        # to load a program that never existed.
        self.kernel.register_program(SHELL_PROGRAM, _ended_shell)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="llmagentos-kernel", daemon=True
        )
        self._shell: SyncContext | None = None
        self._started = False
        self._stopped = False

    @property
    def running(self) -> bool:
        return self._started

    def start(self) -> Runtime:
        if self._started:
            return self
        if self._stopped:
            raise RuntimeError("this Runtime was stopped; create a new one")
        self._thread.start()
        self._started = True
        try:
            self.call(self.kernel.boot())
        except BaseException:
            # A kernel that cannot boot (state directory locked, bad model spec) must not
            # leave a loop thread behind.
            self._started = False
            self._stopped = True
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            raise
        return self

    def _not_running(self) -> NoReturn:
        state = "was stopped" if self._stopped else "is not started: call runtime.start()"
        raise RuntimeError(f"this Runtime {state}")

    def __enter__(self) -> Runtime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the kernel's loop and wait for it."""
        if not self._started:
            coro.close()
            self._not_running()
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("Runtime.call from the kernel's own thread would deadlock")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def shell(self) -> SyncContext:
        """The context of the `shell` process that sync code outside any process acts as."""
        if not self._started:
            self._not_running()
        if self._shell is None:
            self._shell = self.call(self._make_shell())
        return self._shell

    @property
    def shell_process(self) -> ProcessContext:
        """The shell's async context, for coroutines run on the kernel loop with `call`."""
        return self.shell()._ctx

    async def _make_shell(self) -> SyncContext:
        k = self.kernel
        pid = k._next_pid
        k._next_pid += 1
        from llmagentos.access import ROOT

        proc = Process(pid, "shell", SHELL_PROGRAM, {}, None, 0, ROOT, "shell")
        proc.state = ProcessState.RUNNING
        proc.started_at = proc.created_at
        k._procs[pid] = proc
        await k.db.write(lambda c: k._insert_process(c, proc))
        return SyncContext(ProcessContext(k, proc), self._loop)

    def stop(self) -> None:
        if not self._started:
            return
        try:
            if self._shell is not None:
                shell = self.kernel._procs.get(self._shell.pid)
                if shell is not None:
                    self.call(self.kernel._finish(shell, ProcessState.DONE))
            self.call(self.kernel.shutdown())
        finally:
            self._started = False
            self._stopped = True
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)


_default: Runtime | None = None
_default_lock = threading.Lock()


def default_runtime() -> Runtime:
    """The process-wide runtime, booted on first use.

    State goes to `$LLMAGENTOS_STATE_DIR` (default `.llmagentos`); `$LLMAGENTOS_MODEL` (a
    model spec such as `openai:gpt-4o-mini`) becomes the default model.
    """
    global _default
    with _default_lock:
        if _default is not None and not _default.running:
            _default.start()  # set with set_default_runtime(Runtime(...)) but not started
        if _default is None:
            config = KernelConfig(
                state_dir=os.environ.get("LLMAGENTOS_STATE_DIR", ".llmagentos"),
                recover=False,
                default_model=None,
            )
            spec = os.environ.get("LLMAGENTOS_MODEL")
            models: dict[str, Any] = {"default": spec} if spec else {}
            _default = Runtime(Kernel(config, models=models)).start()
            atexit.register(_default.stop)
        return _default


def set_default_runtime(runtime: Runtime | None) -> None:
    """Replace (or clear) the default runtime, e.g. in tests."""
    global _default
    with _default_lock:
        _default = runtime
