"""Translation between the OpenAI wire format and kernel model records.

`to_request` turns a validated chat request into an `LLMRequest`; `completion` and
`ChunkWriter` turn the kernel's answers back into OpenAI bodies and stream events;
`to_text_request`, `text_completion` and `TextChunkWriter` do the same for the legacy
`/v1/completions` (a raw prompt, no chat template).
`StopScanner` applies `stop` sequences on the server side as well, so `stop` holds even
for a backend that ignores it: text is held back while it could still be the start of a
stop sequence, and nothing after the first match is sent.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any, Protocol

from llmagentos.llm.guides import response_guide
from llmagentos.llm.types import (
    LLMRequest,
    LLMResponse,
    Message,
    StreamChunk,
    ToolCallRequest,
    ToolSpec,
    Usage,
)
from llmagentos.llm.types import TokenLogprob as KernelLogprob
from llmagentos.server import openai_schemas as o

_ROLES: dict[str, Any] = {"developer": "system"}


_BOOT = uuid.uuid4().hex[:12]
_SEQ = itertools.count(1)


def new_id(prefix: str = "chatcmpl") -> str:
    """A completion id, unique across server runs (random per boot, then a counter)."""
    return f"{prefix}-{_BOOT}{next(_SEQ):012x}"


def to_request(body: o.ChatCompletionRequest, model: str) -> LLMRequest:
    """The kernel request for a chat completion body, against model `model`."""
    messages = tuple(
        Message(
            role=_ROLES.get(m.role, m.role),
            content=m.text(),
            name=m.name,
            tool_calls=tuple(
                ToolCallRequest(id=c.id, name=c.function.name, arguments=c.function.arguments)
                for c in m.tool_calls or ()
            ),
            tool_call_id=m.tool_call_id,
        )
        for m in body.messages
    )
    tools: tuple[ToolSpec, ...] = ()
    if body.tools and body.tool_choice != "none":
        tools = tuple(
            ToolSpec(t.function.name, t.function.description, t.function.parameters)
            for t in body.tools
        )
    options: dict[str, Any] = {}
    max_tokens = body.max_completion_tokens or body.max_tokens
    if max_tokens is not None:
        options["max_tokens"] = max_tokens
    if body.temperature is not None:
        options["temperature"] = body.temperature
    if body.top_p is not None:
        options["top_p"] = body.top_p
    if body.response_format is not None and body.response_format.get("type") != "text":
        response_guide(body.response_format)  # a bad format is a 400 before anything runs
        options["response_format"] = body.response_format
    return LLMRequest(
        messages=messages,
        model=model,
        tools=tools,
        stop=body.stop_list(),
        logprobs=bool(body.logprobs),
        seed=body.seed,
        **options,
    )


class StopScanner:
    """Cuts streamed text at the first stop sequence, holding back possible prefixes."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self.stops = stops
        self.held = ""
        self.stopped = False
        self._keep = max((len(s) for s in stops), default=1) - 1

    def feed(self, text: str) -> str:
        """Text that may be sent now (all of it when there are no stop sequences)."""
        if self.stopped:
            return ""
        if not self.stops:
            return text
        self.held += text
        cut = min((i for s in self.stops if (i := self.held.find(s)) >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            out, self.held = self.held[:cut], ""
            return out
        safe = len(self.held) - self._keep
        if safe <= 0:
            return ""
        out, self.held = self.held[:safe], self.held[safe:]
        return out

    def flush(self) -> str:
        """What is still held when the stream ends without a match."""
        out, self.held = ("" if self.stopped else self.held), ""
        return out


def cut_at_stop(text: str, stops: tuple[str, ...]) -> tuple[str, bool]:
    scanner = StopScanner(stops)
    out = scanner.feed(text)
    return out + scanner.flush(), scanner.stopped


def _logprobs(lps: tuple[KernelLogprob, ...] | None) -> o.ChoiceLogprobs | None:
    if lps is None:
        return None
    return o.ChoiceLogprobs(
        content=[
            o.TokenLogprob(token=t.token, logprob=t.logprob, bytes=list(t.token.encode()))
            for t in lps
        ]
    )


def _usage(u: Usage) -> o.UsageOut:
    return o.UsageOut(
        prompt_tokens=u.prompt_tokens,
        completion_tokens=u.completion_tokens,
        total_tokens=u.total_tokens,
    )


def _finish(reason: str) -> o.FinishReason:
    # The kernel's "cancelled"/"error" have no OpenAI equivalent; "stop" is what clients expect.
    return reason if reason in ("stop", "length", "tool_calls") else "stop"  # type: ignore[return-value]


def completion(
    response: LLMResponse, *, rid: str, model: str, request: LLMRequest
) -> o.ChatCompletion:
    """A chat.completion body for the kernel's answer (stop sequences applied)."""
    text, stopped = cut_at_stop(response.text, request.stop)
    calls = [
        o.ToolCallOut(id=c.id, function=o.FunctionCallOut(name=c.name, arguments=c.arguments))
        for c in response.message.tool_calls
    ]
    finish = "stop" if stopped else _finish(response.finish_reason)
    lps = response.logprobs if request.logprobs else None
    message = o.AssistantMessage(
        content=text if text or not calls else None, tool_calls=calls or None
    )
    return o.ChatCompletion(
        id=rid,
        created=int(time.time()),
        model=model,
        choices=[o.Choice(message=message, finish_reason=finish, logprobs=_logprobs(lps))],
        usage=_usage(response.usage),
    )


class EventWriter(Protocol):
    """Turns the kernel's stream chunks into the `data:` events of one response."""

    def events(self, chunk: StreamChunk) -> list[bytes]: ...


class ChunkWriter:
    """Builds the `data:` events of one streamed completion.

    Events are built as plain dicts (a stream sends one per token, so this is a hot path);
    their shape is `openai_schemas.ChatCompletionChunk`, which the tests check them against.
    Deltas carry only what changed, and every choice states its finish reason and logprobs
    (null until known), as OpenAI's own stream does.
    """

    def __init__(self, *, rid: str, model: str, request: LLMRequest, include_usage: bool) -> None:
        self.head = {
            "id": rid,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }
        self.logprobs = request.logprobs
        self.include_usage = include_usage
        self.scanner = StopScanner(request.stop)
        self.first = True

    def _event(self, choices: list[dict[str, Any]], usage: Any = None) -> bytes:
        body = {**self.head, "choices": choices}
        if usage is not None:
            body["usage"] = usage
        return b"data: " + json.dumps(body, ensure_ascii=False).encode() + b"\n\n"

    def _chunk(self, delta: dict[str, Any], finish: str | None = None, lps: Any = None) -> bytes:
        return self._event([{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": lps}])

    def events(self, chunk: StreamChunk) -> list[bytes]:
        """The events for one kernel chunk (the last one carries finish and usage)."""
        out: list[bytes] = []
        text = self.scanner.feed(chunk.delta)
        if chunk.finish_reason is not None:
            text += self.scanner.flush()
        lps = _logprobs(chunk.logprobs) if self.logprobs and chunk.logprobs else None
        if text or self.first or lps is not None:
            delta = {"role": "assistant", "content": text} if self.first else {"content": text}
            out.append(self._chunk(delta, lps=lps.model_dump() if lps is not None else None))
            self.first = False
        if chunk.finish_reason is None:
            return out
        for i, call in enumerate(chunk.tool_calls):
            fn = {"name": call.name, "arguments": call.arguments}
            part = {"index": i, "id": call.id, "type": "function", "function": fn}
            out.append(self._chunk({"tool_calls": [part]}))
        finish = "stop" if self.scanner.stopped else _finish(chunk.finish_reason)
        out.append(self._chunk({}, finish=finish))
        if self.include_usage:
            out.append(self._event([], _usage(chunk.usage or Usage()).model_dump()))
        return out


def error_event(message: str, code: str) -> bytes:
    """A mid-stream error, as OpenAI sends it: one `data:` event with an `error` object."""
    error = {"message": message, "type": "server_error", "param": None, "code": code}
    return b"data: " + json.dumps({"error": error}).encode() + b"\n\n"


DONE = b"data: [DONE]\n\n"


# -- legacy text completions ----------------------------------------------------------------


def to_text_request(body: o.CompletionRequest, model: str) -> LLMRequest:
    """The kernel request for a legacy completion: the prompt as-is, no chat template."""
    options: dict[str, Any] = {}
    if body.temperature is not None:
        options["temperature"] = body.temperature
    if body.top_p is not None:
        options["top_p"] = body.top_p
    return LLMRequest(
        messages=(Message(role="user", content=body.prompt_text()),),
        model=model,
        max_tokens=body.max_tokens,
        stop=body.stop_list(),
        logprobs=body.logprobs is not None,
        seed=body.seed,
        raw_prompt=True,
        **options,
    )


def _text_finish(reason: str) -> o.FinishReason:
    return "length" if reason == "length" else "stop"


def _text_logprobs(
    lps: tuple[KernelLogprob, ...] | None, offset: int
) -> o.CompletionLogprobs | None:
    if lps is None:
        return None
    offsets = list(itertools.accumulate((len(t.token) for t in lps[:-1]), initial=offset))
    return o.CompletionLogprobs(
        tokens=[t.token for t in lps],
        token_logprobs=[t.logprob for t in lps],
        text_offset=offsets if lps else [],
    )


def text_completion(
    response: LLMResponse, *, rid: str, model: str, request: LLMRequest, echo: str
) -> o.Completion:
    """A text_completion body (stop sequences applied; `echo`: the prompt to put first)."""
    text, stopped = cut_at_stop(response.text, request.stop)
    lps = response.logprobs if request.logprobs else None
    choice = o.CompletionChoice(
        text=echo + text,
        finish_reason="stop" if stopped else _text_finish(response.finish_reason),
        logprobs=_text_logprobs(lps, len(echo)),
    )
    return o.Completion(
        id=rid,
        created=int(time.time()),
        model=model,
        choices=[choice],
        usage=_usage(response.usage),
    )


class TextChunkWriter:
    """Builds the `data:` events of one streamed legacy completion (see `ChunkWriter`)."""

    def __init__(
        self, *, rid: str, model: str, request: LLMRequest, include_usage: bool, echo: str
    ) -> None:
        self.head = {"id": rid, "object": "text_completion", "created": int(time.time())}
        self.head["model"] = model
        self.logprobs = request.logprobs
        self.include_usage = include_usage
        self.scanner = StopScanner(request.stop)
        self.pending = echo  # sent before the first generated text
        self.offset = 0

    def _event(self, text: str, finish: str | None, lps: Any = None, usage: Any = None) -> bytes:
        choices = (
            []
            if usage is not None
            else [{"index": 0, "text": text, "finish_reason": finish, "logprobs": lps}]
        )
        body = {**self.head, "choices": choices}
        if usage is not None:
            body["usage"] = usage
        return b"data: " + json.dumps(body, ensure_ascii=False).encode() + b"\n\n"

    def events(self, chunk: StreamChunk) -> list[bytes]:
        out: list[bytes] = []
        text = self.scanner.feed(chunk.delta)
        if chunk.finish_reason is not None:
            text += self.scanner.flush()
        prefix, self.pending = self.pending, ""
        start = self.offset + len(prefix)  # where this chunk's first token begins
        text = prefix + text
        lps = None
        if self.logprobs and chunk.logprobs:
            found = _text_logprobs(chunk.logprobs, start)
            lps = found.model_dump() if found is not None else None
        if text or lps is not None:
            out.append(self._event(text, None, lps))
            self.offset += len(text)
        if chunk.finish_reason is None:
            return out
        finish = "stop" if self.scanner.stopped else _text_finish(chunk.finish_reason)
        out.append(self._event("", finish))
        if self.include_usage:
            out.append(self._event("", None, usage=_usage(chunk.usage or Usage()).model_dump()))
        return out
