"""Server-side translation for the loopback OpenAI server: wire requests in, wire responses out."""

from __future__ import annotations

import time
from typing import Any

from llmagentos.llm import _openai_schema as w
from llmagentos.llm.types import (
    LLMRequest,
    LLMResponse,
    Message,
    StreamChunk,
    TokenLogprob,
    ToolCallRequest,
    ToolSpec,
    Usage,
)

ARGUMENT_PIECE = 7  # streamed tool-call arguments are cut this small to exercise reassembly


def _message(m: w.ChatMessage) -> Message:
    calls = tuple(
        ToolCallRequest(
            id=c.id or f"call_{i}", name=c.function.name, arguments=c.function.arguments
        )
        for i, c in enumerate(m.tool_calls or ())
    )
    role = m.role if m.role in ("system", "user", "assistant", "tool") else "user"
    if m.role == "developer":
        role = "system"
    return Message(
        role=role,  # type: ignore[arg-type]
        content=m.text(),
        name=m.name,
        tool_calls=calls,
        tool_call_id=m.tool_call_id,
    )


def chat_request(body: w.ChatCompletionRequest) -> LLMRequest:
    """The `LLMRequest` a /chat/completions body asks for."""
    tools = tuple(
        ToolSpec(
            name=t.function.name,
            description=t.function.description,
            parameters=t.function.parameters,
        )
        for t in body.tools or ()
    )
    return LLMRequest(
        messages=tuple(_message(m) for m in body.messages),
        tools=tools,
        logprobs=bool(body.logprobs),
        **_sampling(body, body.max_completion_tokens or body.max_tokens),
    )


def completion_request(body: w.CompletionRequest) -> LLMRequest:
    """The raw-prompt `LLMRequest` a legacy /completions body asks for."""
    prompt = body.prompt if isinstance(body.prompt, str) else "".join(body.prompt)
    return LLMRequest(
        messages=(Message(role="user", content=prompt),),
        raw_prompt=True,
        logprobs=body.logprobs is not None,
        **_sampling(body, body.max_tokens),
    )


def _sampling(
    body: w.ChatCompletionRequest | w.CompletionRequest, max_tokens: int | None
) -> dict[str, Any]:
    out: dict[str, Any] = {"model": body.model, "stop": body.stop_list(), "seed": body.seed}
    if max_tokens is not None:
        out["max_tokens"] = max_tokens
    if body.temperature is not None:
        out["temperature"] = body.temperature
    if body.top_p is not None:
        out["top_p"] = body.top_p
    return out


def _usage(u: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.total_tokens,
    }


def _chat_logprobs(lps: tuple[TokenLogprob, ...] | None) -> dict[str, Any] | None:
    if lps is None:
        return None
    return {"content": [{"token": t.token, "logprob": t.logprob, "top_logprobs": []} for t in lps]}


def _tool_calls(calls: tuple[ToolCallRequest, ...]) -> list[dict[str, Any]] | None:
    if not calls:
        return None
    return [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        for c in calls
    ]


def _envelope(kind: str, rid: str, model: str) -> dict[str, Any]:
    return {"id": rid, "object": kind, "created": int(time.time()), "model": model}


def chat_completion(response: LLMResponse, *, rid: str, model: str) -> dict[str, Any]:
    """A /chat/completions body for `response`."""
    message: dict[str, Any] = {"role": "assistant", "content": response.text or None}
    if (calls := _tool_calls(response.message.tool_calls)) is not None:
        message["tool_calls"] = calls
    choice = {
        "index": 0,
        "message": message,
        "finish_reason": response.finish_reason,
        "logprobs": _chat_logprobs(response.logprobs),
    }
    body = _envelope("chat.completion", rid, response.model or model)
    return body | {"choices": [choice], "usage": _usage(response.usage)}


def completion(response: LLMResponse, *, rid: str, model: str) -> dict[str, Any]:
    """A legacy /completions body for `response`."""
    lps = response.logprobs
    logprobs = None
    if lps is not None:
        logprobs = {"tokens": [t.token for t in lps], "token_logprobs": [t.logprob for t in lps]}
    choice = {
        "index": 0,
        "text": response.text,
        "finish_reason": response.finish_reason,
        "logprobs": logprobs,
    }
    body = _envelope("text_completion", rid, response.model or model)
    return body | {"choices": [choice], "usage": _usage(response.usage)}


def chat_chunk_events(
    chunk: StreamChunk, *, rid: str, model: str, first: bool, include_usage: bool
) -> list[dict[str, Any]]:
    """The chat.completion.chunk events one `StreamChunk` becomes (tool calls cut in pieces)."""
    base = _envelope("chat.completion.chunk", rid, model)

    def event(delta: dict[str, Any], finish: str | None = None, lp: Any = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": lp}
        return base | {"choices": [choice]}

    events: list[dict[str, Any]] = []
    if chunk.delta or chunk.logprobs or first:
        delta: dict[str, Any] = {"content": chunk.delta}
        if first:
            delta["role"] = "assistant"
        events.append(event(delta, lp=_chat_logprobs(chunk.logprobs)))
    for index, call in enumerate(chunk.tool_calls):
        head = {"index": index, "id": call.id, "type": "function"}
        events.append(
            event({"tool_calls": [head | {"function": {"name": call.name, "arguments": ""}}]})
        )
        args = call.arguments
        for start in range(0, len(args), ARGUMENT_PIECE):
            piece = {
                "index": index,
                "function": {"arguments": args[start : start + ARGUMENT_PIECE]},
            }
            events.append(event({"tool_calls": [piece]}))
    if chunk.finish_reason is not None:
        events.append(event({}, finish=chunk.finish_reason))
        if include_usage:
            events.append(base | {"choices": [], "usage": _usage(chunk.usage or Usage())})
    return events


def completion_chunk_events(
    chunk: StreamChunk, *, rid: str, model: str, include_usage: bool
) -> list[dict[str, Any]]:
    """The legacy text_completion events one `StreamChunk` becomes."""
    base = _envelope("text_completion", rid, model)
    events: list[dict[str, Any]] = []
    if chunk.delta or chunk.finish_reason is not None:
        choice = {
            "index": 0,
            "text": chunk.delta,
            "finish_reason": chunk.finish_reason,
            "logprobs": None,
        }
        events.append(base | {"choices": [choice]})
    if chunk.finish_reason is not None and include_usage:
        events.append(base | {"choices": [], "usage": _usage(chunk.usage or Usage())})
    return events
