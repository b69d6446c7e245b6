"""Model doubles: `LLMBackend`s answering from a script, a function, a latency profile, or at once.

They are test doubles, not models: no weights, no sampling. Each one counts its calls,
records the requests it got (`requests`, `last_request`) and the most requests it had in
flight at once (`max_in_flight`), and counts tokens as whitespace-separated words.
`stream()` streams the same answer `complete()` would give, one word per chunk.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from llmagentos.errors import InvalidArgument, InvalidState
from llmagentos.llm.types import (
    FinishReason,
    LLMRequest,
    LLMResponse,
    Message,
    StreamChunk,
    TokenLogprob,
    ToolCallRequest,
    Usage,
)
from llmagentos.records import replace

Reply = str | LLMResponse
ReplyFn = Callable[[LLMRequest], Reply | Awaitable[Reply]]
_PIECES = re.compile(r"\s*\S+\s*|\s+")


def count_tokens(text: str) -> int:
    """Tokens as the doubles count them: whitespace-separated words."""
    return len(text.split())


def text_response(text: str, *, finish_reason: FinishReason = "stop") -> LLMResponse:
    """An assistant answer with plain text (usage is filled in by the double that returns it)."""
    return LLMResponse(message=Message(role="assistant", content=text), finish_reason=finish_reason)


def tool_call_response(
    name: str, arguments: dict[str, Any] | str | None = None, *, id: str = "call_0", text: str = ""
) -> LLMResponse:
    """An assistant answer that calls one tool natively (as an OpenAI-style server would)."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    call = ToolCallRequest(id=id, name=name, arguments=args)
    message = Message(role="assistant", content=text, tool_calls=(call,))
    return LLMResponse(message=message, finish_reason="tool_calls")


def stream_chunks(response: LLMResponse) -> list[StreamChunk]:
    """Split a response into word chunks plus the final chunk, as a server would stream it."""
    pieces = _PIECES.findall(response.text)
    logprobs = response.logprobs
    per_piece = logprobs is not None and len(logprobs) == len(pieces)
    chunks = [
        StreamChunk(delta=p, logprobs=(logprobs[i],) if per_piece and logprobs else None)
        for i, p in enumerate(pieces)
    ]
    final = StreamChunk(
        delta="",
        finish_reason=response.finish_reason,
        usage=response.usage,
        tool_calls=response.message.tool_calls,
        logprobs=None if per_piece else logprobs,
    )
    return [*chunks, final]


class ModelDouble:
    """Base of the doubles: request recording, response completion, word-by-word streaming."""

    def __init__(
        self,
        *,
        name: str,
        max_concurrency: int = 8,
        context_window: int | None = None,
        record: bool = True,
    ) -> None:
        self.name = name
        self.max_concurrency = max_concurrency
        self.context_window = context_window
        self.record = record
        self.requests: list[LLMRequest] = []
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.closed = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, calls={self.calls})"

    @property
    def last_request(self) -> LLMRequest:
        """The most recent request (needs `record=True`)."""
        if not self.requests:
            raise InvalidState(f"{self.name} has not been called (or record=False)")
        return self.requests[-1]

    def count_prompt_tokens(self, request: LLMRequest) -> int:
        """The prompt tokens this double will report for `request` (the kernel's budgets
        use a backend's exact count when it offers one)."""
        return sum(count_tokens(m.content) for m in request.messages)

    def _begin(self, request: LLMRequest) -> None:
        if self.closed:
            raise InvalidState(f"{self.name} is closed")
        self.calls += 1
        if self.record:
            self.requests.append(request)

    def _complete_response(self, reply: Reply, request: LLMRequest) -> LLMResponse:
        """Turn a reply into a full response: usage in words, model name, logprobs if asked."""
        response = text_response(reply) if isinstance(reply, str) else reply
        if not isinstance(response, LLMResponse):
            raise InvalidArgument(
                f"{self.name}: a reply must be a str or an LLMResponse, got {type(reply).__name__}"
            )
        changes: dict[str, Any] = {}
        words = response.text.split()
        if len(words) > request.max_tokens and not response.message.tool_calls:
            # Like a real model, a double stops at max_tokens (budgets depend on it).
            text = " ".join(words[: request.max_tokens])
            response = replace(
                response, message=replace(response.message, content=text), finish_reason="length"
            )
        if response.usage == Usage():
            prompt = sum(count_tokens(m.content) for m in request.messages)
            completion = count_tokens(response.text) + sum(
                count_tokens(c.arguments) for c in response.message.tool_calls
            )
            changes["usage"] = Usage(prompt_tokens=prompt, completion_tokens=completion)
        if not response.model:
            changes["model"] = request.model or self.name
        if request.logprobs and response.logprobs is None:
            # A scripted answer is certain: log-probability 0 for each word.
            pieces = _PIECES.findall(response.text)
            changes["logprobs"] = tuple(TokenLogprob(token=p, logprob=0.0) for p in pieces)
        return replace(response, **changes) if changes else response

    async def _answer(self, request: LLMRequest) -> Reply:
        raise NotImplementedError

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Answer `request` (recorded, counted)."""
        self._begin(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return self._complete_response(await self._answer(request), request)
        finally:
            self.in_flight -= 1

    async def stream(self, request: LLMRequest) -> AsyncIterator[StreamChunk]:
        """Stream the answer `complete` would give, one word per chunk."""
        response = await self.complete(request)
        for chunk in stream_chunks(response):
            yield chunk

    async def aclose(self) -> None:
        self.closed = True


class ScriptedModel(ModelDouble):
    """Answers with `replies` in order: each a str, an `LLMResponse`, or `fn(request)` giving one.

    When the script runs out it raises `InvalidState` (so an unexpected extra call fails the
    test loudly), unless `cycle=True`, which starts the script over.
    """

    def __init__(
        self,
        replies: Sequence[Reply | ReplyFn],
        *,
        cycle: bool = False,
        name: str = "scripted",
        max_concurrency: int = 8,
        context_window: int | None = None,
        record: bool = True,
    ) -> None:
        super().__init__(
            name=name, max_concurrency=max_concurrency, context_window=context_window, record=record
        )
        if isinstance(replies, (str, LLMResponse)):
            replies = [replies]
        self.replies = list(replies)
        if cycle and not self.replies:
            raise InvalidArgument("ScriptedModel(cycle=True) needs at least one reply")
        self.cycle = cycle
        self.position = 0  # index of the next reply

    @property
    def remaining(self) -> int:
        """Replies not used yet (in the current round, when cycling)."""
        return len(self.replies) - self.position

    async def _answer(self, request: LLMRequest) -> Reply:
        if self.position >= len(self.replies):
            if not self.cycle:
                raise InvalidState(
                    f"ScriptedModel {self.name!r} ran out of replies: it was given "
                    f"{len(self.replies)} and this is call {self.calls}; add replies or "
                    "pass cycle=True"
                )
            self.position = 0
        reply = self.replies[self.position]
        self.position += 1
        if callable(reply):
            result = reply(request)
            return await result if inspect.isawaitable(result) else result
        return reply


class FunctionModel(ModelDouble):
    """Answers with `fn(messages, request)` (sync or async), returning a str or an `LLMResponse`."""

    def __init__(
        self,
        fn: Callable[[tuple[Message, ...], LLMRequest], Reply | Awaitable[Reply]],
        *,
        name: str = "function",
        max_concurrency: int = 8,
        context_window: int | None = None,
        record: bool = True,
    ) -> None:
        super().__init__(
            name=name, max_concurrency=max_concurrency, context_window=context_window, record=record
        )
        self.fn = fn

    async def _answer(self, request: LLMRequest) -> Reply:
        result = self.fn(request.messages, request)
        return await result if inspect.isawaitable(result) else result


class LatencyModel(ModelDouble):
    """A simulated model server: time to first token, then `tokens_per_s` per request.

    The answer is `output_tokens` deterministic words (`tok0 tok1 ...`, cut to the request's
    `max_tokens`, finish reason "length" then). With `batch_size`, at most that many requests
    decode at once and the rest queue, like a server with a fixed batch; per-request speed
    does not depend on the batch, as on a GPU server below saturation.
    """

    def __init__(
        self,
        ttft_s: float = 0.05,
        tokens_per_s: float = 100.0,
        output_tokens: int = 16,
        *,
        max_concurrency: int = 64,
        batch_size: int | None = None,
        context_window: int | None = None,
        name: str = "latency",
        record: bool = True,
    ) -> None:
        super().__init__(
            name=name, max_concurrency=max_concurrency, context_window=context_window, record=record
        )
        if ttft_s < 0 or tokens_per_s <= 0 or output_tokens < 0:
            raise InvalidArgument("ttft_s >= 0, tokens_per_s > 0 and output_tokens >= 0")
        self.ttft_s = ttft_s
        self.tokens_per_s = tokens_per_s
        self.output_tokens = output_tokens
        self.batch_size = batch_size
        self._batch = asyncio.Semaphore(batch_size) if batch_size else None

    def _plan(self, request: LLMRequest) -> tuple[list[str], FinishReason]:
        n = min(self.output_tokens, request.max_tokens)
        words = [f"tok{i}" for i in range(n)]
        return words, "length" if n < self.output_tokens else "stop"

    async def _answer(self, request: LLMRequest) -> Reply:
        words, reason = self._plan(request)
        if self._batch is None:
            await asyncio.sleep(self.ttft_s + len(words) / self.tokens_per_s)
        else:
            async with self._batch:
                await asyncio.sleep(self.ttft_s + len(words) / self.tokens_per_s)
        return text_response(" ".join(words), finish_reason=reason)

    async def stream(self, request: LLMRequest) -> AsyncIterator[StreamChunk]:
        """Stream with real pacing: the first word after `ttft_s`, then one per token time."""
        self._begin(request)
        words, reason = self._plan(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self._batch is not None:
                await self._batch.acquire()
            try:
                await asyncio.sleep(self.ttft_s)
                for i, word in enumerate(words):
                    if i:
                        await asyncio.sleep(1 / self.tokens_per_s)
                    yield StreamChunk(delta=word if i == 0 else " " + word)
            finally:
                if self._batch is not None:
                    self._batch.release()
        finally:
            self.in_flight -= 1
        response = self._complete_response(
            text_response(" ".join(words), finish_reason=reason), request
        )
        yield stream_chunks(response)[-1]


class NullModel(ModelDouble):
    """Answers at once with `reply`; `complete` never suspends (for syscall-overhead benchmarks)."""

    def __init__(
        self,
        reply: str = "ok",
        *,
        name: str = "null",
        max_concurrency: int = 1024,
        context_window: int | None = None,
        record: bool = True,
    ) -> None:
        super().__init__(
            name=name, max_concurrency=max_concurrency, context_window=context_window, record=record
        )
        self.reply = reply
        self._completion_tokens = count_tokens(reply)

    async def complete(self, request: LLMRequest) -> LLMResponse:
        # No await anywhere on this path: a call costs no trip through the event loop.
        self._begin(request)
        if request.logprobs:
            return self._complete_response(self.reply, request)
        usage = Usage(
            prompt_tokens=sum(count_tokens(m.content) for m in request.messages),
            completion_tokens=self._completion_tokens,
        )
        return LLMResponse(
            message=Message(role="assistant", content=self.reply),
            usage=usage,
            model=request.model or self.name,
        )
