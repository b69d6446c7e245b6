"""The engine's thread, and the bridge between it and asyncio callers.

A forward pass takes milliseconds to seconds, so the engine cannot run on the kernel's
event loop. One thread owns the `EngineCore`: it runs commands from the inbox (add,
cancel, snapshot) between steps, steps while there is work, and sleeps otherwise. Events
of a step go back to the loop in one `call_soon_threadsafe`, each to its request's queue.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from llmagentos.errors import BackendError, BackendUnavailable
from llmagentos.llm.local.engine import EngineCore
from llmagentos.llm.local.params import TokenEvent

T = TypeVar("T")
log = logging.getLogger(__name__)
Item = TokenEvent | BaseException


class Handle:
    """One request in the engine: its events, as an async iterator, until the last one."""

    def __init__(self, runner: EngineRunner) -> None:
        self._runner = runner
        self._queue: asyncio.Queue[Item] = asyncio.Queue()
        self.seq_id: int | None = None
        self.done = False

    def put(self, item: Item) -> None:
        self._queue.put_nowait(item)

    async def events(self) -> AsyncIterator[TokenEvent]:
        """Events until the final one (which has `result`); errors are raised."""
        while not self.done:
            item = await self._queue.get()
            if isinstance(item, BaseException):
                self.done = True
                raise item
            if item.result is not None:
                self.done = True
            yield item

    def cancel(self) -> None:
        """Stop the request and free its state (no-op once it finished)."""
        seq_id = self.seq_id
        if not self.done and seq_id is not None:
            self.done = True
            runner = self._runner
            runner.post(lambda core: runner.drop(core, seq_id))


class EngineRunner:
    """Owns the engine thread. See the module docstring."""

    def __init__(self, core: EngineCore, name: str = "llmagentos-engine") -> None:
        self.core = core
        self._inbox: collections.deque[Callable[[EngineCore], None]] = collections.deque()
        self._wake = threading.Event()
        self._stopping = False
        self._owners: dict[int, tuple[asyncio.AbstractEventLoop, Handle]] = {}
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # -- called from any thread --------------------------------------------------------------

    def post(self, command: Callable[[EngineCore], None]) -> None:
        self._inbox.append(command)
        self._wake.set()

    def call(self, fn: Callable[[EngineCore], T]) -> concurrent.futures.Future[T]:
        """Run `fn(core)` on the engine thread between steps."""
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()
        if self._stopping:
            fut.set_exception(BackendUnavailable("the local engine is closed"))
            return fut

        def command(core: EngineCore) -> None:
            if fut.set_running_or_notify_cancel():
                try:
                    fut.set_result(fn(core))
                except BaseException as exc:
                    fut.set_exception(exc)

        self.post(command)
        return fut

    async def start(self, add: Callable[[EngineCore], int]) -> Handle:
        """Start a request with `add(core) -> seq_id`; its events go to the returned handle."""
        loop = asyncio.get_running_loop()
        handle = Handle(self)

        def register(core: EngineCore) -> int:
            seq_id = add(core)
            self._owners[seq_id] = (loop, handle)
            handle.seq_id = seq_id
            return seq_id

        await asyncio.wrap_future(self.call(register))
        return handle

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread; requests still in flight fail with `BackendUnavailable`."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)

    # -- engine thread -----------------------------------------------------------------------

    def drop(self, core: EngineCore, seq_id: int) -> None:
        self._owners.pop(seq_id, None)
        core.cancel(seq_id)

    def _run(self) -> None:
        while not self._stopping:
            self._drain()
            if not self.core.has_work():
                self._wake.wait(timeout=1.0)
                self._wake.clear()
                if self._inbox:
                    continue
            try:
                events = self.core.step()  # when idle: expires parked KV, gives rows back
            except Exception as exc:  # a failed step fails its requests, not the engine
                log.exception("local engine step failed")
                self._fail_all(BackendError(f"local engine step failed: {exc!r}"))
                continue
            self._deliver(events)
        self._fail_all(BackendUnavailable("the local engine was closed"))
        self._drain()

    def _drain(self) -> None:
        while self._inbox:
            command = self._inbox.popleft()
            try:
                command(self.core)
            except Exception:  # `call` hands errors to its caller; anything else is a bug
                log.exception("local engine command failed")

    def _deliver(self, events: list[TokenEvent]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Handle, Item]]] = {}
        for ev in events:
            owner = self._owners.get(ev.seq_id)
            if owner is None:
                continue
            if ev.result is not None:
                del self._owners[ev.seq_id]
            by_loop.setdefault(owner[0], []).append((owner[1], ev))
        for loop, items in by_loop.items():
            _post(loop, items)

    def _fail_all(self, error: BaseException) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Handle, Item]]] = {}
        for seq_id, (loop, handle) in list(self._owners.items()):
            self.core.cancel(seq_id)
            by_loop.setdefault(loop, []).append((handle, error))
        self._owners.clear()
        for loop, items in by_loop.items():
            _post(loop, items)


def _post(loop: asyncio.AbstractEventLoop, items: list[tuple[Handle, Item]]) -> None:
    def deliver() -> None:
        for handle, item in items:
            handle.put(item)

    try:
        loop.call_soon_threadsafe(deliver)
    except RuntimeError:
        pass  # the caller's loop is closed: nobody is waiting any more


def run_sync(core: EngineCore) -> list[TokenEvent]:
    """Step `core` on this thread until it has no work (tests, benchmarks); all events."""
    events: list[TokenEvent] = []
    while core.has_work():
        events.extend(core.step())
    return events
