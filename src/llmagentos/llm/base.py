"""The `LLMBackend` protocol every model core implements."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from llmagentos.llm.types import LLMRequest, LLMResponse, StreamChunk


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
