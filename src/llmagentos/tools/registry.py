"""`ToolRegistry`: the tools a kernel offers, and how a call to one is run.

`invoke` never raises for a problem with the call: an unknown tool, bad arguments, a
timeout or the tool failing all come back as `ToolResult(ok=False, ...)`, an
observation for the agent rather than an exception in the kernel.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import difflib
import functools
import math
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from pydantic_core import PydanticSerializationError, to_jsonable_python

from llmagentos.errors import (
    InvalidState,
    LLMAgentOSError,
    SyscallTimeout,
    ToolFailed,
    UnknownTool,
)
from llmagentos.kernel.syscalls import ToolInvoke, ToolResult
from llmagentos.llm.types import ToolSpec
from llmagentos.tools.context import ToolContext
from llmagentos.tools.locks import ReadWriteLock
from llmagentos.tools.tool import Tool

# Sync tools mostly wait on I/O, so more threads than cores pays off; the floor keeps a
# few timed-out (still running) calls from blocking everything on small machines.
_DEFAULT_WORKERS = max(8, min(32, (os.cpu_count() or 1) + 4))

Release = Callable[[], None]


class ToolRegistry:
    """Holds tools by name, describes them to models and runs calls to them.

    Sync tools run in a registry-owned thread pool, async tools on the event loop.
    Independent calls run concurrently; a tool's `concurrency` caps its own calls, and an
    `exclusive` tool waits until no other tool runs (and keeps others out meanwhile).

    Timeouts: the limit covers waiting for a slot and running. An async tool is cancelled
    when it runs out of time. A sync tool's thread cannot be stopped: the call returns a
    timeout result at once, the thread runs on, its result is thrown away, and it keeps
    its concurrency slot (and the exclusive lock) until it really ends.

    Output: pydantic models, dataclasses, enums, dates, sets and tuples become JSON
    values; bytes become text (URL-safe base64 if not UTF-8); NaN and infinities become
    the strings "NaN", "Infinity", "-Infinity"; anything else becomes `str(value)`.
    """

    def __init__(
        self,
        tools: Iterable[Tool[..., Any] | Callable[..., Any]] = (),
        *,
        default_timeout_s: float | None = 60.0,
        max_workers: int = _DEFAULT_WORKERS,
    ) -> None:
        self.default_timeout_s = default_timeout_s
        self._tools: dict[str, Tool[..., Any]] = {}
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._lock = ReadWriteLock()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="llmagentos-tool"
        )
        self._closed = False
        for t in tools:
            self.register(t)

    # -- the catalogue ------------------------------------------------------------------

    def register(
        self, fn: Tool[..., Any] | Callable[..., Any], *, replace: bool = False
    ) -> Tool[..., Any]:
        """Add a tool (a plain function is wrapped with `@tool`'s defaults); returns it."""
        t = fn if isinstance(fn, Tool) else Tool(fn)
        if t.name in self._tools and not replace:
            raise InvalidState(f"a tool named {t.name!r} is already registered")
        self._tools[t.name] = t
        self._limits.pop(t.name, None)
        if t.concurrency is not None:
            self._limits[t.name] = asyncio.Semaphore(t.concurrency)
        return t

    def unregister(self, name: str) -> Tool[..., Any]:
        """Remove a tool; calls already running finish normally."""
        t = self.get(name)
        del self._tools[name]
        self._limits.pop(name, None)
        return t

    def get(self, name: str) -> Tool[..., Any]:
        """The tool called `name`; `UnknownTool` (with suggestions) if there is none."""
        try:
            return self._tools[name]
        except KeyError:
            raise self._unknown(name) from None

    def names(self) -> tuple[str, ...]:
        """Registered tool names, sorted."""
        return tuple(sorted(self._tools))

    def specs(self, names: Iterable[str] | None = None) -> tuple[ToolSpec, ...]:
        """Specs to offer a model: all tools (sorted by name) or `names`, in that order."""
        return tuple(self.get(n).spec for n in (self.names() if names is None else names))

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def _unknown(self, name: str) -> UnknownTool:
        close = difflib.get_close_matches(name, list(self._tools), n=3, cutoff=0.6)
        if close:
            hint = "did you mean " + " or ".join(repr(c) for c in close) + "?"
        elif self._tools:
            hint = "available tools: " + ", ".join(self.names()[:20])
        else:
            hint = "no tools are registered"
        return UnknownTool(f"unknown tool {name!r}; {hint}", suggestions=close)

    # -- calls --------------------------------------------------------------------------

    async def handle(self, call: ToolInvoke, *, context: ToolContext) -> ToolResult:
        """Serve a `ToolInvoke` syscall."""
        return await self.invoke(
            call.name, call.arguments, context=context, timeout_s=call.timeout_s
        )

    async def invoke(
        self,
        name: str,
        arguments: dict[str, Any],
        *,
        context: ToolContext,
        timeout_s: float | None = None,
    ) -> ToolResult:
        """Run one call and describe how it went; never raises for tool-level problems.

        The time limit is `timeout_s`, else the tool's own, else the registry default,
        and never past `context.deadline`. `error_type` names the error class:
        "UnknownTool", "InvalidArgument", "SyscallTimeout", "ToolFailed" (or the class of
        an llmagentos error the tool raised on purpose).
        """
        try:
            if self._closed:
                raise InvalidState("the tool registry is closed")
            t = self.get(name)
            args, kwargs = t.arguments.bind(arguments, tool=name, context=context)
            limit = self._time_limit(t, timeout_s, context)
            output = await self._run(t, args, kwargs, limit)
            return ToolResult(name=name, ok=True, output=_to_json(name, output))
        except LLMAgentOSError as exc:
            return ToolResult(name=name, ok=False, error=exc.message, error_type=type(exc).__name__)
        except Exception as exc:  # a bug here must still reach the agent, not the kernel
            return ToolResult(
                name=name, ok=False, error=_describe_failure(exc), error_type="ToolFailed"
            )

    def _time_limit(
        self, t: Tool[..., Any], timeout_s: float | None, context: ToolContext
    ) -> float | None:
        limit = next((x for x in (timeout_s, t.timeout_s) if x is not None), self.default_timeout_s)
        if context.deadline is not None:
            left = context.deadline - time.time()
            limit = left if limit is None else min(limit, left)
        return limit

    async def _run(
        self, t: Tool[..., Any], args: list[Any], kwargs: dict[str, Any], limit: float | None
    ) -> Any:
        if limit is not None and limit <= 0:
            raise SyscallTimeout(f"tool {t.name!r} was called after its deadline")
        scope = asyncio.timeout(limit)
        try:
            async with scope:
                release = await self._acquire(t)
                if t.is_async:
                    try:
                        return await t.fn(*args, **kwargs)
                    finally:
                        release()
                return await self._run_in_thread(t, args, kwargs, release)
        except TimeoutError as exc:
            if not scope.expired():  # the tool's own TimeoutError (a socket, say), not ours
                raise ToolFailed(_describe_failure(exc)) from exc
            raise SyscallTimeout(f"tool {t.name!r} timed out after {limit:g} s") from None
        except LLMAgentOSError:
            raise
        except (Exception, SystemExit) as exc:  # a tool's sys.exit() must not end the kernel
            raise ToolFailed(_describe_failure(exc)) from exc

    async def _run_in_thread(
        self, t: Tool[..., Any], args: list[Any], kwargs: dict[str, Any], release: Release
    ) -> Any:
        loop = asyncio.get_running_loop()
        call = functools.partial(contextvars.copy_context().run, t.fn, *args, **kwargs)
        try:
            future = self._executor.submit(call)
        except RuntimeError:  # the pool was shut down by a concurrent `aclose`
            release()
            raise InvalidState("the tool registry is closed") from None

        def done(_: concurrent.futures.Future[Any]) -> None:
            # The slot is freed when the thread ends, not when the caller stops waiting.
            try:
                loop.call_soon_threadsafe(release)
            except RuntimeError:  # the loop is closed; nobody is left to wait for the slot
                pass

        future.add_done_callback(done)
        return await asyncio.wrap_future(future)

    async def _acquire(self, t: Tool[..., Any]) -> Release:
        """Take `t`'s concurrency slot and the shared or exclusive lock; returns the release."""
        limit = self._limits.get(t.name)
        if limit is not None:
            await limit.acquire()
        try:
            await (self._lock.acquire_write() if t.exclusive else self._lock.acquire_read())
        except BaseException:
            if limit is not None:
                limit.release()
            raise
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            if t.exclusive:
                self._lock.release_write()
            else:
                self._lock.release_read()
            if limit is not None:
                limit.release()

        return release

    # -- lifetime -----------------------------------------------------------------------

    async def aclose(self) -> None:
        """Stop taking calls and drop queued sync calls; running threads cannot be stopped."""
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def __aenter__(self) -> ToolRegistry:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _describe_failure(exc: BaseException) -> str:
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _to_json(name: str, value: Any) -> Any:
    """Make a tool's output JSON: known types converted, anything else as `str(value)`."""
    try:
        try:
            converted = to_jsonable_python(value, fallback=str)
        except (UnicodeDecodeError, PydanticSerializationError):
            # Bytes that are not UTF-8: base64 keeps them intact.
            converted = to_jsonable_python(value, fallback=str, bytes_mode="base64")
    except Exception as exc:
        raise ToolFailed(f"tool {name!r} returned a value that cannot be made JSON: {exc}") from exc
    return _finite(converted)


def _finite(value: Any) -> Any:
    """Spell NaN and infinities as strings: strict JSON parsers reject them as numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value
