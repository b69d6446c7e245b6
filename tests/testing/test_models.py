"""The model doubles: scripted, function, latency and null models."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from llmagentos.errors import InvalidArgument, InvalidState
from llmagentos.llm import LLMBackend, LLMRequest, LLMResponse, Message, StreamChunk, Usage
from llmagentos.testing import (
    FunctionModel,
    LatencyModel,
    NullModel,
    ScriptedModel,
    count_tokens,
    stream_chunks,
    text_response,
    tool_call_response,
)


def ask(text: str = "one two three", **fields: Any) -> LLMRequest:
    return LLMRequest(messages=(Message(role="user", content=text),), **fields)


async def drain(backend: LLMBackend, request: LLMRequest) -> list[StreamChunk]:
    return [c async for c in backend.stream(request)]


def test_doubles_implement_the_protocol() -> None:
    for double in (
        ScriptedModel(["x"]),
        FunctionModel(lambda m, r: "x"),
        LatencyModel(),
        NullModel(),
    ):
        assert isinstance(double, LLMBackend)
        assert double.name and double.max_concurrency >= 1


async def test_scripted_replies_in_order_then_raises() -> None:
    model = ScriptedModel(["first answer", tool_call_response("t", {"a": 1})])
    first = await model.complete(ask())
    assert first.text == "first answer"
    assert first.usage == Usage(prompt_tokens=3, completion_tokens=2)
    assert first.model == "scripted"
    second = await model.complete(ask("again"))
    assert second.message.tool_calls[0].name == "t" and second.finish_reason == "tool_calls"
    assert model.calls == 2 and model.remaining == 0
    assert [r.messages[0].content for r in model.requests] == ["one two three", "again"]
    with pytest.raises(InvalidState, match=r"ran out of replies.*cycle=True"):
        await model.complete(ask())


async def test_scripted_cycle_and_callables() -> None:
    async def async_reply(request: LLMRequest) -> str:
        return "async " + request.messages[-1].content

    model = ScriptedModel(
        ["a", lambda r: f"echo {r.messages[-1].content}", async_reply], cycle=True
    )
    texts = [(await model.complete(ask(str(i)))).text for i in range(4)]
    assert texts == ["a", "echo 1", "async 2", "a"]
    with pytest.raises(InvalidArgument):
        ScriptedModel([], cycle=True)


async def test_scripted_rejects_bad_reply_types() -> None:
    model = ScriptedModel([lambda r: 42])
    with pytest.raises(InvalidArgument, match="str or an LLMResponse"):
        await model.complete(ask())


async def test_explicit_usage_and_model_are_kept() -> None:
    given = LLMResponse(
        message=Message(role="assistant", content="x"), usage=Usage(10, 20), model="real"
    )
    response = await ScriptedModel([given]).complete(ask())
    assert response == given


async def test_function_model_sync_and_async() -> None:
    seen: list[int] = []

    def fn(messages: tuple[Message, ...], request: LLMRequest) -> str:
        seen.append(len(messages))
        return f"{len(messages)} messages, max {request.max_tokens}"

    async def afn(messages: tuple[Message, ...], request: LLMRequest) -> LLMResponse:
        await asyncio.sleep(0)
        return text_response("async", finish_reason="length")

    assert (await FunctionModel(fn).complete(ask(max_tokens=9))).text == "1 messages, max 9"
    response = await FunctionModel(afn).complete(ask())
    assert response.text == "async" and response.finish_reason == "length"
    assert seen == [1]


async def test_stream_matches_complete() -> None:
    model = ScriptedModel(["  the quick  brown fox "], cycle=True)
    chunks = await drain(model, ask(logprobs=True))
    *content, final = chunks
    assert "".join(c.delta for c in content) == "  the quick  brown fox "
    assert final.finish_reason == "stop" and final.usage == Usage(3, 4)
    assert all(c.logprobs is not None and len(c.logprobs) == 1 for c in content)
    assert model.calls == 1


def test_stream_chunks_carries_tool_calls_on_the_final_chunk() -> None:
    response = tool_call_response("t", '{"x": 1}', text="calling")
    chunks = stream_chunks(response)
    assert chunks[-1].tool_calls == response.message.tool_calls
    assert chunks[-1].finish_reason == "tool_calls"
    assert all(not c.tool_calls for c in chunks[:-1])


async def test_latency_model_timing_and_text() -> None:
    model = LatencyModel(ttft_s=0.05, tokens_per_s=100, output_tokens=5)
    start = time.monotonic()
    response = await model.complete(ask())
    elapsed = time.monotonic() - start
    assert response.text == "tok0 tok1 tok2 tok3 tok4" and response.finish_reason == "stop"
    assert 0.095 <= elapsed < 0.5
    cut = await model.complete(ask(max_tokens=2))
    assert cut.text == "tok0 tok1" and cut.finish_reason == "length"


async def test_latency_model_stream_is_paced() -> None:
    model = LatencyModel(ttft_s=0.05, tokens_per_s=50, output_tokens=3)
    stamps: list[float] = []
    start = time.monotonic()
    text = ""
    async for chunk in model.stream(ask()):
        stamps.append(time.monotonic() - start)
        text += chunk.delta
    assert text == "tok0 tok1 tok2"
    assert stamps[0] >= 0.045  # time to first token
    assert stamps[-1] >= 0.085  # plus two token gaps of 20 ms


async def test_latency_model_batch_size_queues_the_rest() -> None:
    model = LatencyModel(ttft_s=0.04, tokens_per_s=1000, output_tokens=0, batch_size=2)
    start = time.monotonic()
    await asyncio.gather(*(model.complete(ask()) for _ in range(4)))
    assert time.monotonic() - start >= 0.075  # two rounds of 40 ms
    assert model.max_in_flight == 4 and model.calls == 4


async def test_null_model_never_suspends() -> None:
    model = NullModel("fine")
    coro = model.complete(ask())
    # A coroutine that never awaits finishes on its first step, without the event loop.
    with pytest.raises(StopIteration) as done:
        coro.send(None)
    response = done.value.value
    assert response.text == "fine" and response.usage == Usage(3, 1)
    assert model.calls == 1


async def test_null_model_without_recording_and_with_logprobs() -> None:
    model = NullModel(record=False)
    for _ in range(3):
        await model.complete(ask())
    assert model.calls == 3 and model.requests == []
    with pytest.raises(InvalidState):
        _ = model.last_request
    assert (await model.complete(ask(logprobs=True))).logprobs is not None


async def test_closed_doubles_refuse() -> None:
    model = ScriptedModel(["x"], cycle=True)
    await model.aclose()
    with pytest.raises(InvalidState, match="closed"):
        await model.complete(ask())


def test_count_tokens_is_whitespace_words() -> None:
    assert count_tokens("  a b\n\tc ") == 3 and count_tokens("") == 0
