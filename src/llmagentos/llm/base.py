"""The `LLMBackend` protocol every model core implements."""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from llmagentos.llm.types import LLMRequest, LLMResponse, StreamChunk
from llmagentos.records import record


@record
class CallerInfo:
    """Who a model call is for, so a backend that schedules internally (the local core's
    batching engine) can apply the kernel's policy: the process, its program, priority."""

    pid: int
    program: str
    priority: int = 0
    call_id: int = 0


# Set by the kernel before each `complete` / `stream` call of a backend whose class says
# `wants_caller = True` (a contextvar: each call's task sees its own).
current_caller: contextvars.ContextVar[CallerInfo | None] = contextvars.ContextVar(
    "llmagentos_current_caller", default=None
)


@runtime_checkable
class LLMBackend(Protocol):
    """A model core: answers requests, optionally streams them.

    `name` identifies the backend in metrics and in scheduler resources (`llm:<name>`).
    `max_concurrency` is how many requests the backend wants in flight at once; the kernel
    never sends more. A batching backend (the local core) wants many; a remote server with a
    rate limit wants few.
    """

    name: str
    max_concurrency: int
    context_window: int | None

    async def complete(self, request: LLMRequest) -> LLMResponse: ...

    def stream(self, request: LLMRequest) -> AsyncIterator[StreamChunk]: ...

    async def aclose(self) -> None: ...
