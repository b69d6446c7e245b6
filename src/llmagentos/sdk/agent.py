"""Agents: the seed's `act(observation) -> dict` classes, sync and async.

An agent runs as a kernel process. It takes observations from its mailbox (or from the
`inputs` it was started with), calls `act` on each, and answers the sender with what `act`
returned. `agent.run()` works from plain code: it starts the agent on the default runtime;
called in a sync program, it runs the agent as that program's child on the same kernel.

Determinism contract (what makes crash recovery exact): after a crash the kernel restarts
the process and *replays* it, answering every syscall it already made from the journal. So
an agent must make the same syscalls in the same order given the same syscall results: take
time from `ctx.now()`, randomness from a seed passed in args, and the outside world only
through tools. Plain Python state is rebuilt by the replay itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from llmagentos.kernel.context import ProcessContext, SyncContext, current_context
from llmagentos.kernel.kernel import Kernel
from llmagentos.kernel.syscalls import Envelope, ExitStatus
from llmagentos.sdk.runtime import Runtime, default_runtime

STOP = {"type": "stop"}


def _observation(payload: Any) -> dict[str, Any]:
    return payload if isinstance(payload, dict) else {"text": str(payload)}


class _AgentBase:
    name: ClassVar[str | None] = None
    ctx: Any

    @classmethod
    def __llmagentos_program__(cls) -> Any:
        raise NotImplementedError

    def _run(self, inputs: Iterable[Any] | None, runtime: Runtime | None) -> Any:
        """`run`: as a child of the calling process when there is one, else on a runtime."""
        ctx = current_context.get()
        if runtime is None and ctx is not None:
            return self._run_as_child(ctx, inputs)
        rt = runtime or default_runtime()
        name = self.name or type(self).__name__
        with self._registered(rt.kernel) as ref:
            if inputs is None:
                return _interactive(rt, ref, name)
            status = rt.call(rt.kernel.run(ref, {"inputs": list(inputs)}, name=name))
        return _result(name, status)

    def _run_as_child(self, ctx: ProcessContext | SyncContext, inputs: Iterable[Any] | None) -> Any:
        # Inside a process the agent becomes its child on the same kernel: the default
        # runtime would boot a second kernel (and a second state directory) instead.
        name = self.name or type(self).__name__
        if isinstance(ctx, ProcessContext):
            raise RuntimeError(
                f"{type(self).__name__}.run blocks, and this is an async program: use"
                f" `pid = await ctx.spawn({type(self).__name__}, {{'inputs': [...]}})` and"
                " `await ctx.wait(pid)`"
            )
        if inputs is None:
            raise RuntimeError(
                f"{type(self).__name__}.run() without inputs chats on stdin, which a process"
                " does not have: pass the inputs"
            )
        with self._registered(ctx._kernel) as ref:
            pid = ctx.spawn(ref, {"inputs": list(inputs)}, name=name)
            status = ctx.wait(pid)
        return _result(name, status)

    @contextlib.contextmanager
    def _registered(self, kernel: Kernel) -> Iterator[str]:
        """Make the kernel run this instance (its constructor arguments and state) under the
        class's reference, so that a recovered process can still find the class."""
        ref = kernel.program_reference(type(self))
        program = self._as_program()
        kernel._local_programs[ref] = program
        try:
            yield ref
        finally:
            # Later spawns of the class by reference get a fresh instance, not this one.
            if kernel._local_programs.get(ref) is program:
                kernel._local_programs[ref] = type(self)

    def _as_program(self) -> Any:
        raise NotImplementedError


class Agent(_AgentBase):
    """A synchronous agent: override `act`; it runs in a worker thread of the kernel."""

    def __init__(self, name: str | None = None) -> None:
        if name is not None:
            self.name = name  # type: ignore[misc]
        self.ctx: SyncContext | None = None

    def act(self, observation: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError("override act(self, observation) -> dict")

    def setup(self) -> None:
        """Called once in the process before the first observation."""

    def run(self, inputs: Iterable[Any] | None = None, *, runtime: Runtime | None = None) -> Any:
        """Run the agent: over `inputs` (returns the outputs) or interactively on stdin."""
        return self._run(inputs, runtime)

    @classmethod
    def __llmagentos_program__(cls) -> Any:
        def program(ctx: SyncContext, **args: Any) -> Any:
            return cls()._serve(ctx, **args)

        return program

    def _as_program(self) -> Any:
        def program(ctx: SyncContext, **args: Any) -> Any:
            return self._serve(ctx, **args)

        return program

    def _serve(
        self, ctx: SyncContext, inputs: list[Any] | None = None, idle_timeout: float | None = None
    ) -> list[dict[str, Any]] | None:
        self.ctx = ctx
        self.setup()
        if inputs is not None:
            return [self.act(_observation(x)) for x in inputs]
        while True:
            env = ctx.receive(timeout=idle_timeout)
            if env is None or env.payload == STOP:
                return None
            ctx.reply(env, self.act(_observation(env.payload)))


class AsyncAgent(_AgentBase):
    """An asynchronous agent: override `async act`; it runs as a task on the kernel loop."""

    def __init__(self, name: str | None = None) -> None:
        if name is not None:
            self.name = name  # type: ignore[misc]
        self.ctx: ProcessContext | None = None

    async def act(self, observation: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError("override async act(self, observation) -> dict")

    async def setup(self) -> None:
        """Awaited once in the process before the first observation."""

    def run(self, inputs: Iterable[Any] | None = None, *, runtime: Runtime | None = None) -> Any:
        """Run the agent: over `inputs` (returns the outputs) or interactively on stdin."""
        return self._run(inputs, runtime)

    @classmethod
    def __llmagentos_program__(cls) -> Any:
        async def program(ctx: ProcessContext, **args: Any) -> Any:
            return await cls()._serve(ctx, **args)

        return program

    def _as_program(self) -> Any:
        async def program(ctx: ProcessContext, **args: Any) -> Any:
            return await self._serve(ctx, **args)

        return program

    async def _serve(
        self,
        ctx: ProcessContext,
        inputs: list[Any] | None = None,
        idle_timeout: float | None = None,
    ) -> list[dict[str, Any]] | None:
        self.ctx = ctx
        await self.setup()
        if inputs is not None:
            return [await self.act(_observation(x)) for x in inputs]
        while True:
            env = await ctx.receive(timeout=idle_timeout)
            if env is None or env.payload == STOP:
                return None
            await ctx.reply(env, await self.act(_observation(env.payload)))


def _result(name: str, status: ExitStatus) -> Any:
    if status.state != "done":
        raise RuntimeError(f"agent {name} ended {status.state}: {status.error}")
    return status.result


def _interactive(rt: Runtime, ref: str, name: str) -> None:
    """Chat with an agent process over stdin/stdout until EOF."""
    kernel = rt.kernel
    pid = rt.call(kernel.spawn(ref, {}, name=name))
    shell = rt.shell()
    tty = sys.stdin.isatty()
    ended = False
    try:
        while True:
            if tty:
                print("you> ", end="", flush=True)
            line = sys.stdin.readline()
            if not line:
                break
            if not line.strip():
                continue
            env = rt.call(_ask(kernel, rt.shell_process, pid, {"text": line.rstrip("\n")}))
            if env is None:
                ended = True
                break
            print(_reply_text(env.payload), flush=True)
    finally:
        if not ended:
            shell.send(pid, STOP)
        status = rt.call(kernel.wait(pid, timeout=30))
    _result(name, status)


async def _ask(kernel: Kernel, shell: ProcessContext, pid: int, payload: Any) -> Envelope | None:
    """Request/reply with the agent, or None if the agent ends first (an `act` that
    raised must end the chat with its error, not leave it waiting for a reply)."""
    request = asyncio.ensure_future(shell.request(pid, payload, timeout=None))
    ended = asyncio.ensure_future(kernel.wait(pid))
    try:
        await asyncio.wait({request, ended}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for fut in (request, ended):
            if not fut.done():
                fut.cancel()
        await asyncio.gather(request, ended, return_exceptions=True)
    if request.done() and not request.cancelled():
        return request.result()
    return None


def _reply_text(reply: Any) -> str:
    if isinstance(reply, dict) and "text" in reply:
        return str(reply["text"])
    return reply if isinstance(reply, str) else json.dumps(reply, ensure_ascii=False)


def current() -> Any:
    """The context of the process the caller runs in, or None outside any process."""
    return current_context.get()
