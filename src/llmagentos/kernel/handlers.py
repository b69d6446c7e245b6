"""What each system call does once it is admitted: one handler per syscall record.

Three shapes of handler:
- *resource calls* (model, tool) queue on their resource through the scheduler, run outside
  the database, and journal their intent before and their outcome after;
- *effect calls* (storage, memory, messages, spawn) do their effect and write their journal
  entry in one transaction, so the effect happens exactly once across crashes;
- *blocking calls* (receive, request, wait, sleep) loop until they can complete that way.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from llmagentos import records
from llmagentos.access import remaining_tokens
from llmagentos.errors import (
    InvalidArgument,
    LLMAgentOSError,
    QuotaExceeded,
    RequestTooLarge,
    UnknownModel,
)
from llmagentos.kernel import effects as fx
from llmagentos.kernel import syscalls as sc
from llmagentos.kernel.callkit import account, finish_call
from llmagentos.kernel.process import Process, ProcessState
from llmagentos.llm.base import CallerInfo, LLMBackend, current_caller
from llmagentos.llm.types import (
    FinishReason,
    LLMRequest,
    LLMResponse,
    Message,
    StreamChunk,
    Usage,
)
from llmagentos.storage import journal
from llmagentos.tools import ToolContext

if TYPE_CHECKING:
    from llmagentos.kernel.kernel import Kernel

Handler = Callable[["Kernel", Process, int, Any, "journal.JournalEntry | None"], Awaitable[Any]]


def estimate_tokens(request: LLMRequest) -> int:
    """Rough prompt size (4 characters a token) for admission and budgets."""
    chars = sum(len(m.content) + 16 for m in request.messages)
    chars += sum(len(t.name) + len(t.description) + 64 for t in request.tools)
    return chars // 4 + 1


# -- model -------------------------------------------------------------------------------


def backend_for(k: Kernel, request: LLMRequest) -> tuple[str, LLMBackend]:
    name = request.model or k.default_model
    if name is None and not k.models:
        name = k.config.fallback_model  # nothing configured: the built-in model
    if name is not None and name not in k.models and ":" in name:
        k.add_model(name, name)  # a full spec (`openai:...`) loads on first use
    if name is None or name not in k.models:
        known = ", ".join(sorted(k.models)) or "none"
        raise UnknownModel(f"model {request.model or '(default)'!r} is not loaded; known: {known}")
    return name, k.models[name]


def check_request(k: Kernel, request: LLMRequest, backend: LLMBackend) -> int:
    if not request.messages:
        raise InvalidArgument("a model call needs at least one message")
    if request.max_tokens <= 0 or request.max_tokens > k.config.max_request_tokens:
        raise InvalidArgument(
            f"max_tokens must be between 1 and {k.config.max_request_tokens},"
            f" got {request.max_tokens}"
        )
    prompt = estimate_tokens(request)
    window = backend.context_window
    if window is not None and prompt >= window:
        raise RequestTooLarge(
            f"the prompt is about {prompt} tokens; the model's window is {window}"
        )
    return prompt


def prompt_upper_bound(request: LLMRequest, backend: LLMBackend) -> int:
    """Tokens the prompt can take at most: the backend's own count when it has one, else
    its UTF-8 size (no tokenizer makes a token of less than a byte) plus room for the chat
    template around each message."""
    count = getattr(backend, "count_prompt_tokens", None)
    if count is not None:
        return int(count(request))
    size = sum(len(m.content.encode()) + 8 for m in request.messages)
    size += sum(len(t.name) + len(t.description) + len(str(t.parameters)) for t in request.tools)
    return size + 8


def fit_budget(proc: Process, request: LLMRequest, backend: LLMBackend) -> LLMRequest:
    """Shrink `max_tokens` so a call cannot take the process past its token budget."""
    if not proc.budgeted:
        return request
    lefts = [n for p in proc.chain() if (n := remaining_tokens(p.caps, p.tree_tokens)) is not None]
    if not lefts:
        return request
    left = min(lefts)
    prompt = prompt_upper_bound(request, backend)
    if prompt + request.max_tokens <= left:
        return request
    if left - prompt <= 0:
        raise QuotaExceeded(
            f"process {proc.pid} has {left} tokens left; this prompt may need {prompt}",
            field="max_tokens",
            limit=proc.caps.max_tokens,
            used=proc.tree_tokens,
        )
    return records.replace(request, max_tokens=left - prompt)


def prepare(
    k: Kernel, proc: Process, seq: int, call: sc.LLMCall
) -> tuple[str, LLMBackend, LLMRequest, int, str | None]:
    """Checks shared by plain and streamed model calls (raise; the caller journals).

    Returns the backend's name and itself, the request to send (budget-clamped), the slot
    estimate, and the call's journal text (None with the journal off).
    """
    name, backend = backend_for(k, call.request)
    request = k.context.fit(proc, call.request, backend)  # into the model's window
    prompt = check_request(k, request, backend)
    request = fit_budget(proc, request, backend)
    text = None
    if k.config.journal:
        text = records.dumps(call)
        k.jbuf.started(proc.pid, seq, "llm", text)
    return name, backend, request, prompt + request.max_tokens, text


async def prepared(
    k: Kernel, proc: Process, seq: int, call: sc.LLMCall
) -> tuple[str, LLMBackend, LLMRequest, int, str | None]:
    """`prepare`, journaling a refusal so a replay refuses the same way."""
    try:
        if k.context.active:  # evict and recall for an overflowing conversation
            await k.context.ready(proc, call.request)
        return prepare(k, proc, seq, call)
    except LLMAgentOSError as exc:
        await k.journal_error(proc, seq, call, exc)
        raise


async def llm(
    k: Kernel, proc: Process, seq: int, call: sc.LLMCall, entry: journal.JournalEntry | None
) -> LLMResponse:
    try:
        if k.context.active:  # evict and recall for an overflowing conversation
            await k.context.ready(proc, call.request)
        name, backend, request, est, text = prepare(k, proc, seq, call)
    except LLMAgentOSError as exc:
        await k.journal_error(proc, seq, call, exc)
        raise
    resource = f"llm:{name}"
    if proc.state is ProcessState.RUNNING:
        k._set_state(proc, ProcessState.WAITING)
    t0 = time.monotonic()
    cid = k.try_acquire(proc, resource, est)
    if cid is None:
        cid = await k.acquire(proc, resource, est)
    tokens = 0
    if getattr(backend, "wants_caller", False):
        current_caller.set(CallerInfo(proc.pid, proc.program, proc.priority, cid))
    try:
        response = await backend.complete(request)
        tokens = response.usage.total_tokens
    except LLMAgentOSError as exc:
        await k.journal_error(proc, seq, call, exc, text)
        raise
    finally:
        k.release(cid, proc, resource, tokens, time.monotonic() - t0)
        if proc.state is ProcessState.WAITING:
            k._set_state(proc, ProcessState.RUNNING)
    account(proc, call, response)
    if text is not None:
        finish_call(k, proc, seq, call, response, text)
    return response


async def stream_call(k: Kernel, proc: Process, call: sc.LLMCall) -> AsyncIterator[StreamChunk]:
    """Streamed model call: chunks go to the caller live; the whole answer is journaled.

    Admission, budgets and journaling are those of `llm`; a replayed call yields its
    journaled answer as one chunk. A caller that stops early (closes the stream, or is
    cancelled: an HTTP client that hung up) ends the backend's stream at once, and what was
    generated until then is charged and journaled as a "cancelled" answer.
    """
    entry = proc.replay.get(proc.seq)
    if entry is not None and entry.finished:
        response: LLMResponse = await k.syscall(proc, call)
        yield StreamChunk(
            delta=response.text,
            finish_reason=response.finish_reason,
            usage=response.usage,
            tool_calls=response.message.tool_calls,
        )
        return
    seq = await k.enter(proc, call)
    name, backend, request, est, text = await prepared(k, proc, seq, call)
    resource = f"llm:{name}"
    if proc.state is ProcessState.RUNNING:
        k._set_state(proc, ProcessState.WAITING)
    cid = await k.acquire(proc, resource, est)
    parts: list[str] = []
    last = StreamChunk(delta="")
    t0 = time.monotonic()
    if getattr(backend, "wants_caller", False):
        current_caller.set(CallerInfo(proc.pid, proc.program, proc.priority, cid))
    stream = backend.stream(request)
    finish: FinishReason | None = None
    try:
        async for chunk in stream:
            parts.append(chunk.delta)
            last = chunk
            yield chunk
        finish = last.finish_reason or "stop"
    except LLMAgentOSError as exc:
        await k.journal_error(proc, seq, call, exc, text)
        raise
    except (GeneratorExit, asyncio.CancelledError):
        finish = "cancelled"  # the caller left: charge what was generated, then stop
        raise
    finally:
        usage = last.usage or Usage(est - request.max_tokens, len(parts))
        try:
            if finish == "cancelled":
                await _close(stream)  # the backend stops generating now, not at GC time
        finally:
            k.release(cid, proc, resource, usage.total_tokens, time.monotonic() - t0)
            if proc.state is ProcessState.WAITING:
                k._set_state(proc, ProcessState.RUNNING)
            if finish is not None:
                response = LLMResponse(
                    message=Message(
                        role="assistant", content="".join(parts), tool_calls=last.tool_calls
                    ),
                    finish_reason=finish,
                    usage=usage,
                    model=name,
                )
                account(proc, call, response)
                if text is not None:
                    finish_call(k, proc, seq, call, response, text)


async def _close(stream: AsyncIterator[StreamChunk]) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):  # a backend failing to stop must not mask why
            await aclose()


# -- tools -------------------------------------------------------------------------------


async def tool(
    k: Kernel,
    proc: Process,
    seq: int,
    call: sc.ToolInvoke,
    entry: journal.JournalEntry | None,
) -> sc.ToolResult:
    proc.tool_calls += 1
    proc.charge(tool_calls=1)
    key = f"{proc.pid}:{seq}"
    context = ToolContext(
        pid=proc.pid,
        call_id=key,
        idempotency_key=key,
        deadline=None,
        namespace=proc.namespace,
    )
    timeout = call.timeout_s or k.config.tool_timeout_s
    if call.name not in k.tools:
        result = await k.tools.invoke(call.name, dict(call.arguments), context=context)
        finish_call(k, proc, seq, call, result)
        return result
    tool = k.tools.get(call.name)
    text = None
    if k.config.journal:
        text = records.dumps(call)
        if tool.side_effects:  # intent must be durable before an outside effect may happen
            await k.jbuf.durable_started(proc.pid, seq, "tool", text)
        else:
            k.jbuf.started(proc.pid, seq, "tool", text)
    resource = f"tool:{call.name}"
    if tool.concurrency is not None:
        k.scheduler.set_limit(resource, tool.concurrency)
    if proc.state is ProcessState.RUNNING:
        k._set_state(proc, ProcessState.WAITING)
    t0 = time.monotonic()
    cid = await k.acquire(proc, resource)
    try:
        result = await k.tools.invoke(
            call.name, dict(call.arguments), context=context, timeout_s=timeout
        )
    finally:
        k.release(cid, proc, resource, 0, time.monotonic() - t0)
        if proc.state is ProcessState.WAITING:
            k._set_state(proc, ProcessState.RUNNING)
    finish_call(k, proc, seq, call, result, text)
    return result


HANDLERS: dict[type, Handler] = {
    sc.LLMCall: llm,
    sc.ToolInvoke: tool,
    sc.KVPut: fx.kv_put,
    sc.KVGet: fx.kv_get,
    sc.KVDelete: fx.kv_delete,
    sc.KVList: fx.kv_list,
    sc.FileWrite: fx.file_write,
    sc.FileRead: fx.file_read,
    sc.FileList: fx.file_list,
    sc.FileDelete: fx.file_delete,
    sc.FileHistory: fx.file_history,
    sc.FileRollback: fx.file_rollback,
    sc.FileDiff: fx.file_diff,
    sc.Remember: fx.remember,
    sc.Recall: fx.recall,
    sc.Forget: fx.forget,
    sc.Send: fx.send,
    sc.Receive: fx.receive,
    sc.Publish: fx.publish,
    sc.Subscribe: fx.subscribe,
    sc.Unsubscribe: fx.unsubscribe,
    sc.Request: fx.request,
    sc.Reply: fx.reply,
    sc.Spawn: fx.spawn,
    sc.Wait: fx.wait,
    sc.Kill: fx.kill,
    sc.Now: fx.now,
    sc.Sleep: fx.sleep,
}
assert set(HANDLERS) == set(sc.SYSCALL_TYPES), "every syscall needs a handler"
