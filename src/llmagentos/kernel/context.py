"""What agent code holds: a handle that turns method calls into system calls.

`ProcessContext` is the async form (programs running as tasks on the kernel loop);
`SyncContext` is the thin bridge for programs running in worker threads: it forwards every
coroutine method of `ProcessContext` to the kernel loop and blocks for the answer. There is
one implementation of each call, here, in `ProcessContext`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any

from llmagentos.errors import InvalidArgument, MalformedModelOutput, ProcessExit, ProcessKilled
from llmagentos.kernel.syscalls import (
    Capabilities,
    Envelope,
    ExitStatus,
    FileDelete,
    FileDiff,
    FileHistory,
    FileList,
    FileRead,
    FileRollback,
    FileVersion,
    FileWrite,
    Forget,
    Kill,
    KVDelete,
    KVGet,
    KVList,
    KVPut,
    LLMCall,
    MemoryItem,
    Now,
    Publish,
    Recall,
    Receive,
    Remember,
    Reply,
    Request,
    Send,
    Sleep,
    Spawn,
    Subscribe,
    Syscall,
    ToolInvoke,
    ToolResult,
    Unsubscribe,
    Wait,
)
from llmagentos.llm.types import LLMRequest, LLMResponse, Message, StreamChunk, ToolSpec

if TYPE_CHECKING:
    from llmagentos.kernel.kernel import Kernel
    from llmagentos.kernel.process import Process
    from llmagentos.memory.working_set import WorkingSet

current_context: contextvars.ContextVar[ProcessContext | SyncContext | None] = (
    contextvars.ContextVar("llmagentos_current_context", default=None)
)

MessagesLike = str | Message | Sequence[Message | dict[str, Any]]


def to_messages(messages: MessagesLike, system: str | None = None) -> tuple[Message, ...]:
    """Accept a string, a `Message`, or a list of messages / OpenAI-style dicts."""
    if isinstance(messages, str):
        out = [Message(role="user", content=messages)]
    elif isinstance(messages, Message):
        out = [messages]
    else:
        out = [m if isinstance(m, Message) else _message_from_dict(m) for m in messages]
    if system is not None:
        out.insert(0, Message(role="system", content=system))
    return tuple(out)


def _message_from_dict(d: dict[str, Any]) -> Message:
    from llmagentos.llm.types import ToolCallRequest

    calls = tuple(
        ToolCallRequest(
            id=c["id"], name=c["function"]["name"], arguments=c["function"]["arguments"]
        )
        if "function" in c
        else ToolCallRequest(id=c["id"], name=c["name"], arguments=c["arguments"])
        for c in d.get("tool_calls") or ()
    )
    return Message(
        role=d["role"],
        content=d.get("content") or "",
        name=d.get("name"),
        tool_calls=calls,
        tool_call_id=d.get("tool_call_id"),
    )


class ProcessContext:
    """The async system-call interface of one process."""

    def __init__(self, kernel: Kernel, proc: Process) -> None:
        self._kernel = kernel
        self._proc = proc

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def name(self) -> str:
        return self._proc.name

    @property
    def args(self) -> dict[str, Any]:
        return self._proc.args

    @property
    def replaying(self) -> bool:
        """True while answers come from the journal (after a crash)."""
        return self._proc.replaying

    @property
    def working_set(self) -> WorkingSet:
        """Short-term memory: JSON values in RAM up to a budget, paged out by LRU-K.

        Not a syscall and not journaled: like the program's own variables, it is rebuilt
        by replay and gone when the process ends (see `llmagentos.memory.working_set`).
        """
        return self._kernel.memory.working_set(self._proc)

    async def call(self, syscall: Syscall) -> Any:
        """Issue any syscall record; the typed helpers below are shorthands."""
        return await self._kernel.syscall(self._proc, syscall)

    # -- model -----------------------------------------------------------------------------

    def _request(self, messages: MessagesLike, raw: bool, **kw: Any) -> LLMRequest:
        tools = tuple(
            t if isinstance(t, ToolSpec) else self._kernel.tools.get(t).spec
            for t in kw.pop("tools", ()) or ()
        )
        stop = kw.pop("stop", ()) or ()
        system = kw.pop("system", None)
        return LLMRequest(
            messages=to_messages(messages, system),
            tools=tools,
            stop=(stop,) if isinstance(stop, str) else tuple(stop),
            raw_prompt=raw,
            model=kw.pop("model", None) or "",
            **kw,
        )

    async def chat(self, messages: MessagesLike, **options: Any) -> LLMResponse:
        """Chat with a model. Options: model, tools (names or specs), system, max_tokens,
        temperature, top_p, stop, logprobs, seed."""
        result: LLMResponse = await self.call(LLMCall(self._request(messages, False, **options)))
        return result

    async def generate(self, prompt: str, **options: Any) -> LLMResponse:
        """Plain text completion of `prompt` (no chat template)."""
        result: LLMResponse = await self.call(LLMCall(self._request(prompt, True, **options)))
        return result

    async def extract(
        self, messages: MessagesLike, shape: Any, /, *, attempts: int = 2, **options: Any
    ) -> Any:
        """Ask for a reply of type `shape` (a Pydantic model, or any type Pydantic can
        validate: `list[str]`, a dataclass, a `Literal`) and return it validated.

        The request carries the type's JSON schema as `response_format`: a local model is
        guided to it (`llm.guides`), an OpenAI-compatible server gets structured outputs.
        A reply that still does not validate (a server without structured outputs, a
        constraint the guide does not enforce) is asked again, up to `attempts` calls in
        all; then `MalformedModelOutput` says what was wrong. Each call is a journaled
        syscall, so a replayed process gets the same value back without asking again.
        """
        import pydantic

        if attempts < 1:
            raise InvalidArgument(f"attempts must be at least 1, got {attempts}")
        try:
            adapter: Any = pydantic.TypeAdapter(shape)
            schema = adapter.json_schema()
        except pydantic.errors.PydanticUserError as exc:
            raise InvalidArgument(f"cannot make a JSON schema of {shape!r}: {exc}") from exc
        name = getattr(shape, "__name__", "reply")
        options["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema},
        }
        problem = ""
        for _ in range(attempts):
            reply = await self.chat(messages, **options)
            try:
                return adapter.validate_json(reply.text)
            except pydantic.ValidationError as exc:
                problem = f"{exc.error_count()} problem(s), first: {exc.errors()[0]['msg']}"
        raise MalformedModelOutput(
            f"the model's reply is not a valid {name} after {attempts} attempt(s): {problem}"
        )

    def stream(self, messages: MessagesLike, **options: Any) -> AsyncIterator[StreamChunk]:
        """Chat, streaming chunks as the model produces them."""
        call = LLMCall(self._request(messages, False, **options), stream=True)
        from llmagentos.kernel.handlers import stream_call

        return stream_call(self._kernel, self._proc, call)

    # -- tools -----------------------------------------------------------------------------

    async def tool(self, name: str, /, **arguments: Any) -> ToolResult:
        result: ToolResult = await self.call(ToolInvoke(name=name, arguments=arguments))
        return result

    async def call_tool(
        self, name: str, arguments: dict[str, Any], timeout_s: float | None = None
    ) -> ToolResult:
        result: ToolResult = await self.call(ToolInvoke(name, arguments, timeout_s))
        return result

    # -- memory and storage ----------------------------------------------------------------

    async def remember(
        self, text: str, metadata: dict[str, Any] | None = None, namespace: str | None = None
    ) -> str:
        result: str = await self.call(Remember(text, metadata, namespace))
        return result

    async def recall(
        self,
        query: str,
        k: int = 5,
        where: dict[str, Any] | None = None,
        namespace: str | None = None,
    ) -> list[MemoryItem]:
        return list(await self.call(Recall(query, k, where, namespace)))

    async def forget(self, memory_id: str, namespace: str | None = None) -> bool:
        return bool(await self.call(Forget(memory_id, namespace)))

    async def kv_put(self, key: str, value: Any, namespace: str | None = None) -> None:
        await self.call(KVPut(key, value, namespace))

    async def kv_get(self, key: str, default: Any = None, namespace: str | None = None) -> Any:
        return await self.call(KVGet(key, default, namespace))

    async def kv_delete(self, key: str, namespace: str | None = None) -> bool:
        return bool(await self.call(KVDelete(key, namespace)))

    async def kv_list(self, prefix: str = "", namespace: str | None = None) -> list[str]:
        return list(await self.call(KVList(prefix, namespace)))

    async def write_file(
        self, path: str, content: str | bytes, namespace: str | None = None
    ) -> int:
        return int(await self.call(FileWrite(path, content, namespace)))

    async def read_file(
        self, path: str, namespace: str | None = None, version: int | None = None
    ) -> str | bytes:
        """A file's content, now or at an older `version` (see `file_history`)."""
        result: str | bytes = await self.call(FileRead(path, namespace, version))
        return result

    async def list_files(self, prefix: str = "", namespace: str | None = None) -> list[str]:
        return list(await self.call(FileList(prefix, namespace)))

    async def delete_file(self, path: str, namespace: str | None = None) -> bool:
        return bool(await self.call(FileDelete(path, namespace)))

    async def file_history(self, path: str, namespace: str | None = None) -> list[FileVersion]:
        """The retained versions of a file, oldest first (deletions included)."""
        return list(await self.call(FileHistory(path, namespace)))

    async def rollback_file(self, path: str, version: int, namespace: str | None = None) -> int:
        """Make `version` current again (as a new version); returns the new version."""
        return int(await self.call(FileRollback(path, version, namespace)))

    async def diff_file(
        self, path: str, old: int, new: int | None = None, namespace: str | None = None
    ) -> str:
        """A unified diff from version `old` to `new` (default: the current version)."""
        return str(await self.call(FileDiff(path, old, new, namespace)))

    # -- messaging -------------------------------------------------------------------------

    async def send(self, to: int | str, payload: Any) -> int:
        """Send `payload` to a process (PID or name); returns the message id."""
        return int(await self.call(Send(to, payload)))

    async def receive(
        self, timeout: float | None = None, topic: str | None = None, sender: int | None = None
    ) -> Envelope | None:
        """Next message in the mailbox, or None after `timeout` seconds."""
        result: Envelope | None = await self.call(Receive(timeout, topic, sender))
        return result

    async def publish(self, topic: str, payload: Any) -> int:
        """Deliver to every subscriber of `topic`; returns how many received it."""
        return int(await self.call(Publish(topic, payload)))

    async def subscribe(self, topic: str) -> None:
        await self.call(Subscribe(topic))

    async def unsubscribe(self, topic: str) -> None:
        await self.call(Unsubscribe(topic))

    async def request(self, to: int | str, payload: Any, timeout: float | None = 30.0) -> Envelope:
        """Send and wait for the reply (raises `SyscallTimeout`)."""
        result: Envelope = await self.call(Request(to, payload, timeout))
        return result

    async def reply(self, message: Envelope | int, payload: Any) -> int:
        mid = message.id if isinstance(message, Envelope) else message
        return int(await self.call(Reply(mid, payload)))

    # -- processes and time ----------------------------------------------------------------

    async def spawn(
        self,
        program: str | Callable[..., Any],
        args: dict[str, Any] | None = None,
        *,
        name: str | None = None,
        priority: int = 0,
        capabilities: Capabilities | None = None,
    ) -> int:
        ref = self._kernel.program_reference(program)
        return int(await self.call(Spawn(ref, args, name, priority, capabilities)))

    async def wait(self, pid: int, timeout: float | None = None) -> ExitStatus:
        result: ExitStatus = await self.call(Wait(pid, timeout))
        return result

    async def kill(self, pid: int) -> bool:
        return bool(await self.call(Kill(pid)))

    async def now(self) -> float:
        return float(await self.call(Now()))

    async def sleep(self, seconds: float) -> None:
        await self.call(Sleep(seconds))

    def log(self, message: str, level: str = "info") -> None:
        """Write to the process log (not a syscall; skipped while replaying)."""
        self._kernel.log(self._proc, message, level)


class SyncContext:
    """Blocking mirror of `ProcessContext` for programs that run in a worker thread."""

    def __init__(self, ctx: ProcessContext, loop: asyncio.AbstractEventLoop) -> None:
        self._ctx = ctx
        self._loop = loop

    @property
    def pid(self) -> int:
        return self._ctx.pid

    @property
    def name(self) -> str:
        return self._ctx.name

    @property
    def args(self) -> dict[str, Any]:
        return self._ctx.args

    @property
    def replaying(self) -> bool:
        return self._ctx.replaying

    def log(self, message: str, level: str = "info") -> None:
        self._loop.call_soon_threadsafe(self._ctx.log, message, level)

    def run(self, coro: Any) -> Any:
        """Run a coroutine on the kernel loop and block this thread for its result."""
        if self._loop.is_closed():
            coro.close()
            raise ProcessExit("the kernel has stopped")
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        calls = self._ctx._proc.thread_calls
        calls.add(fut)  # so kill and shutdown can cancel a call this thread is blocked in
        try:
            return fut.result()
        except concurrent.futures.CancelledError:
            if self._ctx._proc.killed:
                raise ProcessKilled(f"process {self.pid} was killed") from None
            raise ProcessExit("the kernel is stopping") from None
        finally:
            calls.discard(fut)

    def stream(self, messages: MessagesLike, **options: Any) -> list[StreamChunk]:
        """Streaming from a thread: gathers the chunks (use async agents to consume live)."""

        async def collect() -> list[StreamChunk]:
            return [c async for c in self._ctx.stream(messages, **options)]

        return list(self.run(collect()))

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._ctx, name)
        if not asyncio.iscoroutinefunction(attr):
            return attr

        def blocking(*args: Any, **kwargs: Any) -> Any:
            return self.run(attr(*args, **kwargs))

        blocking.__name__ = name
        blocking.__doc__ = attr.__doc__
        return blocking
