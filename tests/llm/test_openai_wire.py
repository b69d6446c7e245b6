"""Wire-level details of OpenAIBackend, at the transport seam (httpx.MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from llmagentos.errors import BackendError, PermissionDenied
from llmagentos.llm._openai_wire import StreamAssembler, finish_reason
from llmagentos.llm.openai import OpenAIBackend, _retry_after
from llmagentos.llm.types import LLMRequest, Message, ToolCallRequest
from llmagentos.testing import OpenAIServer, ScriptedModel, block_real_models

REQUEST = LLMRequest(messages=(Message(role="user", content="hi"),))


def mock(handler: Callable[[httpx.Request], httpx.Response]) -> OpenAIBackend:
    return OpenAIBackend(
        "m",
        base_url="https://api.example.com/v1",
        api_key="k",
        transport=httpx.MockTransport(handler),
    )


def sse(*events: Any, done: bool = True) -> bytes:
    lines = [f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events]
    return ("".join(lines) + ("data: [DONE]\n\n" if done else "")).encode()


def delta(index: int, **fields: Any) -> dict[str, Any]:
    return {"choices": [{"delta": {"tool_calls": [{"index": index, **fields}]}}]}


def test_parallel_tool_call_deltas_interleaved() -> None:
    asm = StreamAssembler("test")
    events = [
        delta(0, id="a", function={"name": "search", "arguments": ""}),
        delta(1, id="b", function={"name": "fetch", "arguments": '{"u'}),
        delta(0, function={"arguments": '{"q": '}),
        delta(1, function={"arguments": 'rl": "x"}'}),
        delta(0, function={"arguments": '"cats"}'}),
        {"choices": [{"delta": {}, "finish_reason": "tool_calls"}]},
        {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}},
    ]
    assert all(asm.feed(e) is None for e in events)
    final = asm.finish()
    assert final.tool_calls == (
        ToolCallRequest(id="a", name="search", arguments='{"q": "cats"}'),
        ToolCallRequest(id="b", name="fetch", arguments='{"url": "x"}'),
    )
    assert final.usage is not None and final.usage.total_tokens == 7


def test_tool_call_without_id_or_index_and_object_arguments() -> None:
    asm = StreamAssembler("test")
    asm.feed(
        {
            "choices": [
                {"delta": {"tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]}}
            ]
        }
    )
    (call,) = asm.finish().tool_calls
    assert call == ToolCallRequest(id="call_0", name="f", arguments='{"a": 1}')


def test_finish_reasons_map_onto_ours() -> None:
    assert finish_reason("length") == "length"
    assert finish_reason("function_call") == "tool_calls"
    assert finish_reason(None) == "stop"
    assert finish_reason("something_new") == "stop"


async def test_sse_comments_multiline_data_and_missing_done() -> None:
    body = (
        b": keep-alive\n\n"
        b'event: message\ndata: {"choices": [{"delta": \ndata: {"content": "hel"}}]}\n\n'
        b'data: {"choices": [{"delta": {"content": "lo"}, "finish_reason": "length"}]}\n\n'
    )

    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["stream_options"] == {"include_usage": True}
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    backend = mock(handler)
    chunks = [c async for c in backend.stream(REQUEST)]
    assert "".join(c.delta for c in chunks) == "hello"
    assert chunks[-1].finish_reason == "length" and chunks[-1].usage is None
    await backend.aclose()


async def test_chat_response_with_content_parts_and_dict_arguments() -> None:
    data = {
        "model": "served-name",
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                    "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1}}}],
                },
                "finish_reason": "stop",
            }
        ],
    }
    backend = mock(lambda request: httpx.Response(200, json=data))
    response = await backend.complete(REQUEST)
    assert response.text == "ab" and response.model == "served-name"
    assert response.message.tool_calls == (ToolCallRequest("call_0", "f", '{"x": 1}'),)
    assert response.finish_reason == "tool_calls"
    await backend.aclose()


async def test_missing_usage_is_zero_not_an_error() -> None:
    data = {"choices": [{"message": {"role": "assistant", "content": None}}]}
    backend = mock(lambda request: httpx.Response(200, json=data))
    response = await backend.complete(REQUEST)
    assert response.text == "" and response.usage.total_tokens == 0
    await backend.aclose()


async def test_stream_tool_call_without_name_is_backend_error() -> None:
    body = sse(delta(0, function={"arguments": "{}"}))
    backend = mock(lambda request: httpx.Response(200, content=body))
    with pytest.raises(BackendError, match="without a name"):
        [c async for c in backend.stream(REQUEST)]
    await backend.aclose()


def test_retry_after_forms() -> None:
    assert _retry_after(httpx.Headers({"retry-after": "2"})) == 2.0
    assert _retry_after(httpx.Headers({"retry-after-ms": "250", "retry-after": "9"})) == 0.25
    assert _retry_after(httpx.Headers({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert _retry_after(httpx.Headers({"retry-after": "soon"})) is None
    assert _retry_after(httpx.Headers({})) is None


# -- the real-model guard ---------------------------------------------------------------


async def test_guard_refuses_remote_urls() -> None:
    backend = OpenAIBackend("gpt-4o-mini", api_key="k")
    with pytest.raises(PermissionDenied, match="not a loopback"):
        await backend.complete(REQUEST)
    with pytest.raises(PermissionDenied):
        [c async for c in backend.stream(REQUEST)]
    await backend.aclose()


async def test_guard_allows_loopback_and_mock_transports() -> None:
    with OpenAIServer(ScriptedModel(["ok"], cycle=True)) as srv:
        url = srv.base_url.replace("127.0.0.1", "localhost")
        backend = OpenAIBackend("m", base_url=url)
        assert (await backend.complete(REQUEST)).text == "ok"
        await backend.aclose()
    data = {"choices": [{"message": {"role": "assistant", "content": "mocked"}}]}
    backend = mock(lambda request: httpx.Response(200, json=data))
    assert (await backend.complete(REQUEST)).text == "mocked"
    await backend.aclose()


def test_guard_env_var_and_nesting(monkeypatch: pytest.MonkeyPatch) -> None:
    from llmagentos.llm._guard import real_models_blocked

    assert real_models_blocked()  # the autouse fixture
    with block_real_models():
        assert real_models_blocked()
    assert real_models_blocked()
    monkeypatch.setenv("LLMAGENTOS_BLOCK_REAL_MODELS", "1")
    assert real_models_blocked()


async def test_stream_request_answered_in_one_piece() -> None:
    data = {
        "choices": [{"message": {"content": "whole"}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1},
    }
    backend = mock(lambda request: httpx.Response(200, json=data))
    chunks = [c async for c in backend.stream(REQUEST)]
    assert [c.delta for c in chunks] == ["whole", ""]
    assert chunks[-1].finish_reason == "length" and chunks[-1].usage is not None
    await backend.aclose()


def test_backend_satisfies_the_protocol() -> None:
    from llmagentos.llm import LLMBackend

    backend = OpenAIBackend("m", base_url="http://127.0.0.1:9/v1", max_concurrency=3)
    assert isinstance(backend, LLMBackend)
    assert backend.name == "openai:m" and backend.max_concurrency == 3
    assert backend.context_window is None
