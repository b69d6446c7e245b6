"""The context manager: every model request fits its model's window, nothing pinned is lost.

Two steps per model call, both in the kernel's model-call path:

* `ready` (async, only when the conversation overflows): the turns about to be evicted
  are written to the process's long-term memory (namespace of the process, metadata
  `kind="context"`), and the evicted turns most relevant to the latest user message are
  recalled from there (embedding runs in a worker thread, never on the event loop).
* `fit` (sync, in `handlers.prepare`): the request is fitted into the window (see
  `context.window`): pinned messages stay, the newest turns that fit stay, and a context
  block (running summary, recalled turns; see `context.strategies`) takes part of the
  room. `max_tokens` is clamped to what the window leaves. A request whose pinned
  messages alone do not fit is refused with `RequestTooLarge`, never sent.

The running summary is written by a background model call at a priority below the
process's own (program `kernel:context` in the scheduler), so it never holds up the
agent; its tokens count against the process's budgets. Why this keeps replay exact:
the agent never sees a summary, only model responses, and those are journaled; a
replayed call is answered from the journal without fitting. Summaries are stored in
`context_summaries` (and evicted turns in memory, under ids derived from their content),
so after a restart they are reloaded, not recomputed, and re-evicting writes nothing
twice. A call in flight at a crash is re-run live, like any unfinished call: it may see
a newer summary, as it may see different sampling; no result has been observed yet.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llmagentos.context.config import ContextConfig
from llmagentos.context.strategies import make_strategy
from llmagentos.context.summarizer import Summarizer
from llmagentos.context.summary import Conversation, conversation_id, render
from llmagentos.context.tokens import TokenCounter
from llmagentos.context.window import Fit, fit_window
from llmagentos.errors import LLMAgentOSError, RequestTooLarge
from llmagentos.kernel.process import Process
from llmagentos.llm.base import LLMBackend
from llmagentos.llm.types import LLMRequest, Message
from llmagentos.memory import store as memory_store
from llmagentos.records import replace

if TYPE_CHECKING:
    from llmagentos.kernel.kernel import Kernel

__all__ = ["ContextManager"]

_CONVERSATIONS_PER_PROCESS = 8
_REQUEST_OVERHEAD = 8


class ContextManager:
    """Fits each process's conversations into its model's window (module docstring)."""

    def __init__(self, kernel: Kernel, config: ContextConfig | None = None) -> None:
        self.kernel = kernel
        self.config = config or ContextConfig()
        self.strategy = make_strategy(self.config.strategy)
        self._convs: OrderedDict[tuple[int, str], Conversation] = OrderedDict()
        self._counters: dict[int, tuple[LLMBackend, TokenCounter]] = {}
        self._prefetched: OrderedDict[int, tuple[LLMRequest, list[str]]] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._active = (-1, False)  # (number of models when computed, answer)
        self.stats: dict[str, int] = dict.fromkeys(
            (
                "fitted",
                "evicted",
                "recalled",
                "summaries",
                "summary_tokens",
                "summary_failures",
                "refused",
            ),
            0,
        )
        self.summarizer = Summarizer(kernel, self.config, self.counter, self.stats, self._spawn)

    # -- windows and counting -------------------------------------------------------------

    @property
    def active(self) -> bool:
        """Whether any model call may need fitting (a default window, or a backend's).

        On every model call's path, so it is recomputed only when models are added.
        """
        models = self.kernel.models
        if self._active[0] != len(models):
            windows = any(getattr(b, "context_window", None) for b in models.values())
            self._active = (len(models), windows or self.config.window is not None)
        return self._active[1]

    def window_of(self, backend: LLMBackend) -> int | None:
        return getattr(backend, "context_window", None) or self.config.window

    def counter(self, backend: LLMBackend) -> TokenCounter:
        """The token counter of a backend (kept with it: an id can be reused)."""
        found = self._counters.get(id(backend))
        if found is None or found[0] is not backend:
            counter = TokenCounter(backend, self.config.chars_per_token)
            found = self._counters[id(backend)] = (backend, counter)
        return found[1]

    def _limit(self, request: LLMRequest, window: int) -> int:
        """Tokens the prompt may take: the window less a reserve for the answer."""
        reserve = max(1, min(request.max_tokens, int(window * self.config.reserve_share)))
        return window - reserve

    def _budget(self, request: LLMRequest, window: int, counter: TokenCounter) -> int:
        """Tokens the messages may take: the prompt's limit less tool specs and overhead."""
        return self._limit(request, window) - counter.tools(request) - _REQUEST_OVERHEAD

    # -- fit (sync, in the kernel's model-call checks) -----------------------------------

    def fit(self, proc: Process, request: LLMRequest, backend: LLMBackend) -> LLMRequest:
        """The request to send: fitted into the window, `max_tokens` clamped to it."""
        window = self.window_of(backend)
        if window is None or request.raw_prompt or not self._valid(request):
            return request  # nothing to fit, or the kernel's checks refuse it next
        counter = self.counter(backend)
        total = counter.request(request)
        if total + request.max_tokens <= window:
            return request  # the common case: nothing to do
        budget = self._budget(request, window, counter)
        if total - counter.tools(request) - _REQUEST_OVERHEAD > budget:
            request = self._fitted(proc, request, backend, window, budget, counter)
            total = counter.request(request)
        if total + request.max_tokens > window:
            request = replace(request, max_tokens=max(1, window - total))
        return request

    def _valid(self, request: LLMRequest) -> bool:
        limit = self.kernel.config.max_request_tokens
        return bool(request.messages) and 0 < request.max_tokens <= limit

    def _fitted(
        self,
        proc: Process,
        request: LLMRequest,
        backend: LLMBackend,
        window: int,
        budget: int,
        counter: TokenCounter,
    ) -> LLMRequest:
        messages = request.messages
        conv = self._conversation(proc.pid, messages)
        summary = conv.summary_for(messages)
        recalled = self._take_prefetched(request)

        def block(room: int) -> Message | None:
            share = int(room * self.config.block_share)
            text = self.strategy.compose(summary, recalled, share, counter.text)
            return Message(role="system", content=text) if text else None

        limit = self._limit(request, window)
        for _ in range(4):  # a backend's own count need not add up message by message
            try:
                fit = fit_window(messages, budget, counter.message, block)
            except RequestTooLarge:
                self.stats["refused"] += 1
                raise
            fitted = replace(request, messages=fit.messages)
            over = counter.request(fitted) - limit
            if over <= 0:
                break
            budget -= over
        else:
            self.stats["refused"] += 1
            raise RequestTooLarge("the conversation could not be fitted into the model's window")
        self.stats["fitted"] += 1
        self._after_fit(proc, request, backend, conv, fit, window)
        return fitted

    def _after_fit(
        self,
        proc: Process,
        request: LLMRequest,
        backend: LLMBackend,
        conv: Conversation,
        fit: Fit,
        window: int,
    ) -> None:
        """Background work a fit leaves: store what `ready` did not, refresh the summary."""
        fresh = [i for i in fit.evicted if i not in conv.stored]
        if fresh and self.config.evict_to_memory:
            self._spawn(self._store(proc, conv, request.messages, fresh))
        if self.strategy.summarizes:
            self.summarizer.maybe_start(proc, request, backend, conv, fit.evicted, window)

    # -- ready (async, before the checks, only for calls that overflow) -------------------

    async def ready(self, proc: Process, request: LLMRequest) -> None:
        """Store the turns about to be evicted and recall relevant evicted turns.

        Never raises (but cancellation): whatever fails here, `fit` still fits.
        """
        try:
            await self._ready(proc, request)
        except LLMAgentOSError as exc:
            self.kernel.log_kernel_error("context", f"{type(exc).__name__}: {exc.message}")

    async def _ready(self, proc: Process, request: LLMRequest) -> None:
        from llmagentos.kernel.handlers import backend_for

        if request.raw_prompt or not self._valid(request):
            return
        _, backend = backend_for(self.kernel, request)
        window = self.window_of(backend)
        if window is None:
            return
        counter = self.counter(backend)
        if counter.request(request) + request.max_tokens <= window:
            return
        budget = self._budget(request, window, counter)
        share = self.config.block_share
        filler = Message(role="system", content="")

        def reserve(room: int) -> Message:  # as much room as any block may take in `fit`
            return replace(filler, content="x" * int(int(room * share) * counter.chars_per_token))

        try:  # so `fit` evicts no message this plan keeps
            plan = fit_window(request.messages, budget, counter.message, reserve)
        except RequestTooLarge:
            return  # `fit` refuses it
        if not plan.evicted:
            return
        conv = self._conversation(proc.pid, request.messages)
        fresh = [i for i in plan.evicted if i not in conv.stored]
        if fresh and self.config.evict_to_memory:
            await self._store(proc, conv, request.messages, fresh)
        if self.strategy.recalls and self.config.evict_to_memory:
            recalled = await self._recall(proc, conv, request.messages, set(plan.evicted))
            self._prefetched[id(request)] = (request, recalled)
            while len(self._prefetched) > 64:
                self._prefetched.popitem(last=False)

    def _take_prefetched(self, request: LLMRequest) -> list[str]:
        found = self._prefetched.pop(id(request), None)
        return found[1] if found is not None and found[0] is request else []

    async def _store(
        self, proc: Process, conv: Conversation, messages: Sequence[Message], fresh: list[int]
    ) -> None:
        """Write evicted messages to long-term memory (ids from content: idempotent)."""
        conv.stored.update(fresh)  # claimed now: a concurrent fit does not store them again
        try:
            await self._write_evicted(proc, conv, messages, fresh)
        except BaseException:
            conv.stored.difference_update(fresh)
            raise

    async def _write_evicted(
        self, proc: Process, conv: Conversation, messages: Sequence[Message], fresh: list[int]
    ) -> None:
        memory = self.kernel.memory
        texts = [render(messages[i])[: memory.config.max_text_chars] for i in fresh]
        ids = [
            f"ctx-{proc.pid}-{conv.conv}-{i}-{_short(t)}" for i, t in zip(fresh, texts, strict=True)
        ]
        known = memory_store.texts_of(self.kernel.db.reader(), ids)
        todo = [
            (i, t, key)
            for i, t, key in zip(fresh, texts, ids, strict=True)
            if key not in known and t.split(":", 1)[1].strip()
        ]
        if todo:
            meta = [
                {
                    "kind": "context",
                    "conv": conv.conv,
                    "pid": proc.pid,
                    "index": i,
                    "role": messages[i].role,
                }
                for i, _, _ in todo
            ]
            await memory.store(
                proc.namespace, [t for _, t, _ in todo], meta, [key for _, _, key in todo]
            )
        self.stats["evicted"] += len(fresh)

    async def _recall(
        self, proc: Process, conv: Conversation, messages: Sequence[Message], evicted: set[int]
    ) -> list[str]:
        """Evicted turns of this conversation relevant to the latest user message."""
        memory = self.kernel.memory
        query = next((m.content for m in reversed(messages) if m.role == "user"), "")
        query = query.strip()[: memory.config.max_query_chars]
        if not query:
            return []
        await memory.space(proc.namespace)
        vec = await memory.query_vector(query)
        where = {"kind": "context", "conv": conv.conv}
        hits = memory.search_loaded(proc.namespace, vec, self.config.recall_k * 3, where)
        found = [h.text for h in hits if (h.metadata or {}).get("index") in evicted]
        self.stats["recalled"] += min(len(found), self.config.recall_k)
        return found[: self.config.recall_k]

    # -- bookkeeping -----------------------------------------------------------------------

    def _conversation(self, pid: int, messages: Sequence[Message]) -> Conversation:
        key = (pid, conversation_id(messages))
        conv = self._convs.get(key)
        if conv is None:
            conv = self._convs[key] = Conversation(pid, key[1])
            conv.load(self.kernel.db.reader())
            mine = [k for k in self._convs if k[0] == pid]
            for old in mine[:-_CONVERSATIONS_PER_PROCESS]:
                self._convs.pop(old, None)
        else:
            self._convs.move_to_end(key)
        return conv

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro, name="kernel-context")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def settle(self) -> None:
        """Wait for the background work in flight (tests, benchmarks, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def sweep(self) -> None:
        """Forget conversations of processes that ended (the control loop calls this)."""
        for key in list(self._convs):
            proc = self.kernel._procs.get(key[0])
            if proc is None or proc.state.terminal:
                conv = self._convs.pop(key)
                if conv.task is not None:
                    conv.task.cancel()

    def close(self) -> None:
        """Cancel background work (the kernel is stopping)."""
        for task in list(self._tasks):
            task.cancel()


def _short(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()[
        :10
    ]
