"""Running summaries: a low-priority model call of the process rewrites its summary.

The call runs in the background, so it never holds up the agent's own call; it queues
on the model's scheduler resource as program `kernel:context` at the process's priority
plus `ContextConfig.summary_priority` (negative: lower), and its tokens count against the
process's budgets (skipped when they cannot pay). The request is built to fit the window
(`summary.summary_request`). Each summary is saved with the messages it covers, so a
restart reloads it instead of calling the model again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from llmagentos.access import remaining_tokens
from llmagentos.context.config import ContextConfig
from llmagentos.context.summary import Conversation, fingerprint, render, summary_request
from llmagentos.context.tokens import TokenCounter
from llmagentos.errors import LLMAgentOSError
from llmagentos.kernel.process import Process
from llmagentos.llm.base import CallerInfo, LLMBackend, current_caller
from llmagentos.llm.types import LLMRequest, LLMResponse
from llmagentos.records import replace

if TYPE_CHECKING:
    from llmagentos.kernel.kernel import Kernel

__all__ = ["Summarizer"]

Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]


class Summarizer:
    """Keeps each conversation's running summary (see the module docstring)."""

    def __init__(
        self,
        kernel: Kernel,
        config: ContextConfig,
        counter: Callable[[LLMBackend], TokenCounter],
        stats: dict[str, int],
        spawn: Spawn,
    ) -> None:
        self.kernel = kernel
        self.config = config
        self.counter = counter
        self.stats = stats
        self.spawn = spawn

    def maybe_start(
        self,
        proc: Process,
        request: LLMRequest,
        backend: LLMBackend,
        conv: Conversation,
        evicted: Sequence[int],
        window: int,
    ) -> None:
        """Start summarizing evicted turns once enough of them are not in the summary."""
        if conv.task is not None and not conv.task.done():
            return
        if time.monotonic() < conv.retry_at:
            return
        pending = [i for i in evicted if i >= conv.covered]
        counter = self.counter(backend)
        weight = sum(counter.message(request.messages[i]) for i in pending)
        if not pending or weight < window * self.config.summary_trigger_share:
            return
        conv.task = self.spawn(self._run(proc, request, backend, conv, pending, window))

    async def _run(
        self,
        proc: Process,
        request: LLMRequest,
        backend: LLMBackend,
        conv: Conversation,
        pending: list[int],
        window: int,
    ) -> None:
        messages = request.messages
        counter = self.counter(backend)
        max_tokens = max(8, min(self.config.summary_tokens, window // 4))
        try:
            while pending and not proc.state.terminal:
                lines = [render(messages[i]) for i in pending]
                req, used = summary_request(conv.summary, lines, window, max_tokens, counter)
                if used == 0:
                    return
                response = await self.call(proc, request, backend, req)
                if response is None:
                    return
                conv.summary = response.text.strip()[: int(max_tokens * 6)] or conv.summary
                conv.covered = pending[used - 1] + 1
                conv.fingerprint = fingerprint(messages, conv.covered)
                await self.kernel.db.write(conv.save)
                pending = pending[used:]
                self.stats["summaries"] += 1
            conv.failures = 0
        except LLMAgentOSError as exc:
            conv.failures += 1
            conv.retry_at = time.monotonic() + min(60.0, 2.0**conv.failures)
            self.stats["summary_failures"] += 1
            self.kernel.log_kernel_error("context summary", f"{type(exc).__name__}: {exc}")

    async def call(
        self, proc: Process, original: LLMRequest, backend: LLMBackend, req: LLMRequest
    ) -> LLMResponse | None:
        """A model call for `proc`, queued below its own calls; None if over its budget."""
        from llmagentos.kernel.handlers import backend_for

        name, _ = backend_for(self.kernel, original)
        req = replace(req, model=original.model)
        est = self.counter(backend).request(req) + req.max_tokens
        if proc.budgeted:
            lefts = [
                n
                for p in proc.chain()
                if (n := remaining_tokens(p.caps, p.tree_tokens)) is not None
            ]
            if lefts and min(lefts) < est:
                return None  # the agent's own calls need the tokens more
        shadow = Process(
            proc.pid,
            f"{proc.name}/context",
            "kernel:context",
            {},
            proc.pid,
            proc.priority + self.config.summary_priority,
            proc.caps,
            proc.namespace,
        )
        resource = f"llm:{name}"
        cid = await self.kernel.acquire(shadow, resource, est)
        t0, tokens = time.monotonic(), 0
        try:
            if getattr(backend, "wants_caller", False):
                current_caller.set(CallerInfo(proc.pid, shadow.program, shadow.priority, cid))
            response = await backend.complete(req)
            tokens = response.usage.total_tokens
        finally:
            self.kernel.release(cid, shadow, resource, tokens, time.monotonic() - t0)
        proc.charge_summary(tokens)  # the process's budgets pay for its summaries
        self.stats["summary_tokens"] += tokens
        return response
