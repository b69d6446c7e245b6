"""Client-side translation between llmagentos records and the OpenAI wire format."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, cast

from pydantic import ValidationError

from llmagentos.errors import BackendError
from llmagentos.llm import _openai_schema as w
from llmagentos.llm.guides import response_guide
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

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "eos": "stop",
    "end_turn": "stop",
    "length": "length",
    "max_tokens": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "stop",
    "abort": "cancelled",
    "cancelled": "cancelled",
    "error": "error",
}


def finish_reason(value: str | None) -> FinishReason:
    """Map a server's finish reason onto ours (unknown or missing means "stop")."""
    return _FINISH.get(value or "stop", "stop")


def estimate_prompt_tokens(request: LLMRequest) -> int:
    """A cheap pre-call estimate (~4 characters a token) for rate limiting."""
    chars = sum(
        len(m.content) + sum(len(c.arguments) for c in m.tool_calls) for m in request.messages
    )
    chars += sum(len(t.description) + len(str(t.parameters)) for t in request.tools)
    return chars // 4 + 1


def _message_to_wire(m: Message) -> w.ChatMessage:
    calls = [
        w.ToolCall(id=c.id, function=w.FunctionCall(name=c.name, arguments=c.arguments))
        for c in m.tool_calls
    ]
    # An assistant turn that only calls tools has null content on the wire.
    content = None if (calls and not m.content) else m.content
    return w.ChatMessage(
        role=m.role,
        content=content,
        name=m.name,
        tool_calls=calls or None,
        tool_call_id=m.tool_call_id,
    )


def _sampling(request: LLMRequest, model: str, stream: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "model": request.model or model,
        # `max_tokens` rather than `max_completion_tokens`: every compatible server knows it.
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "stop": list(request.stop) or None,
        "seed": request.seed,
    }
    if stream:
        out["stream"] = True
        out["stream_options"] = w.StreamOptions(include_usage=True)
    return out


def chat_body(request: LLMRequest, model: str, *, stream: bool, as_user: bool = False) -> Any:
    """The JSON body for /chat/completions (`as_user`: a raw prompt sent as one user turn)."""
    if as_user:
        messages = [w.ChatMessage(role="user", content=_prompt_of(request))]
    else:
        messages = [_message_to_wire(m) for m in request.messages]
    tools = [
        w.ToolDef(
            function=w.FunctionDef(name=t.name, description=t.description, parameters=t.parameters)
        )
        for t in request.tools
    ]
    body = w.ChatCompletionRequest(
        messages=messages,
        tools=tools or None,
        response_format=wire_format(request.response_format),
        logprobs=True if request.logprobs else None,
        **_sampling(request, model, stream),
    )
    return body.model_dump(exclude_none=True)


def wire_format(fmt: dict[str, Any] | None) -> dict[str, Any] | None:
    """A request's `response_format` as OpenAI's structured outputs spell it. A `choice` is
    asked for as a JSON object `{"choice": <one of them>}`; `unwrap_choice` reads it back."""
    if fmt is None:
        return None
    response_guide(fmt)  # a malformed format is the caller's InvalidArgument, not a 400
    if fmt["type"] == "choice":
        schema = {
            "type": "object",
            "properties": {"choice": {"type": "string", "enum": list(fmt["choices"])}},
            "required": ["choice"],
            "additionalProperties": False,
        }
        return {
            "type": "json_schema",
            "json_schema": {"name": "choice", "strict": True, "schema": schema},
        }
    if fmt["type"] == "picks":
        texts: dict[str, list[str]] = dict(fmt.get("texts") or {})
        free = [c for c in fmt["choices"] if c not in texts]
        lines = [c + t for c, options in texts.items() for t in options]
        kinds: list[dict[str, Any]] = []
        if free:
            kinds.append(
                {
                    "type": "object",
                    "properties": {
                        "choice": {"type": "string", "enum": free},
                        "text": {"type": "string"},
                    },
                    "required": ["choice", "text"],
                    "additionalProperties": False,
                }
            )
        if lines:
            kinds.append(
                {
                    "type": "object",
                    "properties": {"line": {"type": "string", "enum": lines}},
                    "required": ["line"],
                    "additionalProperties": False,
                }
            )
        item = kinds[0] if len(kinds) == 1 else {"anyOf": kinds}
        schema = {
            "type": "object",
            "properties": {"picks": {"type": "array", "items": item}},
            "required": ["picks"],
            "additionalProperties": False,
        }
        return {
            "type": "json_schema",
            "json_schema": {"name": "picks", "strict": True, "schema": schema},
        }
    if fmt["type"] == "json_schema":
        return {**fmt, "json_schema": {"name": "reply", **fmt["json_schema"]}}
    return dict(fmt)


def unwrap_choice(request: LLMRequest, response: LLMResponse) -> LLMResponse:
    """For a `choice` request, the chosen string as the reply's text; for `picks`, the
    lines (`<choice><text>` each). A server that ignored the format keeps its own text."""
    kind = (request.response_format or {}).get("type")
    if kind not in ("choice", "picks"):
        return response
    try:
        value = json.loads(response.message.content)
        if kind == "choice":
            chosen = value["choice"]
        else:
            chosen = "\n".join(p.get("line") or p["choice"] + p["text"] for p in value["picks"])
    except (ValueError, KeyError, TypeError):
        return response
    if not isinstance(chosen, str):
        return response
    return dataclasses.replace(
        response, message=dataclasses.replace(response.message, content=chosen)
    )


def completion_body(request: LLMRequest, model: str, *, stream: bool) -> Any:
    """The JSON body for the legacy /completions endpoint."""
    body = w.CompletionRequest(
        prompt=_prompt_of(request),
        logprobs=1 if request.logprobs else None,
        **_sampling(request, model, stream),
    )
    return body.model_dump(exclude_none=True)


def _prompt_of(request: LLMRequest) -> str:
    return request.messages[0].content if request.messages else ""


def validate(model: type[w.Wire], data: Any, where: str) -> Any:
    """Validate server JSON, turning schema errors into a `BackendError` that says what broke."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "<root>"
        raise BackendError(
            f"malformed response from {where}: {loc}: {first['msg']}",
            url=where,
            errors=exc.error_count(),
        ) from None


def usage_of(u: w.UsageInfo | None) -> Usage:
    if u is None:
        return Usage()
    return Usage(prompt_tokens=u.prompt_tokens, completion_tokens=u.completion_tokens)


def _logprobs_of(lp: w.ChoiceLogprobs | w.LegacyLogprobs | None) -> tuple[TokenLogprob, ...] | None:
    if lp is None:
        return None
    if isinstance(lp, w.LegacyLogprobs):
        pairs = zip(lp.tokens, lp.token_logprobs, strict=False)
        return tuple(TokenLogprob(token=t, logprob=p) for t, p in pairs if p is not None)
    return tuple(TokenLogprob(token=e.token, logprob=e.logprob) for e in lp.content or ())


def _calls_of(calls: list[w.ToolCall] | None) -> tuple[ToolCallRequest, ...]:
    return tuple(
        ToolCallRequest(
            id=c.id or f"call_{i}", name=c.function.name, arguments=c.function.arguments or "{}"
        )
        for i, c in enumerate(calls or ())
    )


def chat_response(data: Any, where: str) -> LLMResponse:
    """Turn a /chat/completions JSON body into an `LLMResponse`."""
    parsed = cast(w.ChatCompletion, validate(w.ChatCompletion, data, where))
    if not parsed.choices:
        raise BackendError(f"malformed response from {where}: no choices", url=where)
    choice = parsed.choices[0]
    calls = _calls_of(choice.message.tool_calls)
    return LLMResponse(
        message=Message(role="assistant", content=choice.message.text(), tool_calls=calls),
        finish_reason="tool_calls" if calls else finish_reason(choice.finish_reason),
        usage=usage_of(parsed.usage),
        model=parsed.model,
        logprobs=_logprobs_of(choice.logprobs),
    )


def completion_response(data: Any, where: str) -> LLMResponse:
    """Turn a legacy /completions JSON body into an `LLMResponse`."""
    parsed = cast(w.Completion, validate(w.Completion, data, where))
    if not parsed.choices:
        raise BackendError(f"malformed response from {where}: no choices", url=where)
    choice = parsed.choices[0]
    return LLMResponse(
        message=Message(role="assistant", content=choice.text),
        finish_reason=finish_reason(choice.finish_reason),
        usage=usage_of(parsed.usage),
        model=parsed.model,
        logprobs=_logprobs_of(choice.logprobs),
    )


class StreamAssembler:
    """Folds streamed chunks into `StreamChunk`s; tool-call deltas become whole calls at the end.

    The finish reason and the usage arrive in different chunks (usage comes last, with no
    choices), so the final `StreamChunk` is only built by `finish()` once the stream ends.
    """

    def __init__(self, where: str) -> None:
        self.where = where
        self._calls: dict[int, dict[str, Any]] = {}
        self._finish: str | None = None
        self._usage: Usage | None = None

    def feed(self, data: Any) -> StreamChunk | None:
        """Take one decoded SSE event; return a content chunk to yield, if any."""
        if isinstance(data, dict) and "error" in data:
            err = validate(w.ErrorEnvelope, data, self.where)
            raise BackendError(
                f"{self.where} failed mid-stream: {err.error.message}", url=self.where
            )
        chunk = cast(w.ChatCompletionChunk, validate(w.ChatCompletionChunk, data, self.where))
        if chunk.usage is not None:
            self._usage = usage_of(chunk.usage)
        if not chunk.choices:
            return None
        choice = chunk.choices[0]
        if choice.finish_reason:
            self._finish = choice.finish_reason
        for pos, delta in enumerate(choice.delta.tool_calls or ()):
            self._add_call_delta(pos, delta)
        text = (choice.delta.content or "") + (choice.text or "")
        logprobs = _logprobs_of(choice.logprobs)
        if not text and not logprobs:
            return None
        return StreamChunk(delta=text, logprobs=logprobs)

    def _add_call_delta(self, pos: int, delta: w.ToolCallDelta) -> None:
        index = delta.index if delta.index is not None else pos
        slot = self._calls.setdefault(index, {"id": None, "name": "", "args": []})
        if delta.id and not slot["id"]:
            slot["id"] = delta.id
        fn = delta.function
        if fn is not None:
            # Most servers send the name once; tolerate ones that repeat it in every delta.
            if fn.name and fn.name != slot["name"]:
                slot["name"] += fn.name
            if fn.arguments:
                slot["args"].append(fn.arguments)

    def finish(self) -> StreamChunk:
        """The last chunk: finish reason, usage and the assembled tool calls."""
        calls = tuple(
            ToolCallRequest(
                id=slot["id"] or f"call_{index}",
                name=slot["name"],
                arguments="".join(slot["args"]) or "{}",
            )
            for index, slot in sorted(self._calls.items())
        )
        for call in calls:
            if not call.name:
                raise BackendError(f"malformed stream from {self.where}: tool call without a name")
        reason: FinishReason = "tool_calls" if calls else finish_reason(self._finish)
        return StreamChunk(delta="", finish_reason=reason, usage=self._usage, tool_calls=calls)
