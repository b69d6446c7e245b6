"""The loopback OpenAI-compatible server, spoken to with plain httpx."""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
import pytest

import llmagentos.testing
from llmagentos.testing import (
    LatencyModel,
    NullModel,
    OpenAIServer,
    ScriptedModel,
    serve_openai,
    tool_call_response,
)


def chat(text: str = "hi", **extra: object) -> dict[str, object]:
    return {"model": "m", "messages": [{"role": "user", "content": text}], **extra}


def sse_events(body: str) -> list[Any]:
    datas = [line[6:] for line in body.splitlines() if line.startswith("data: ")]
    assert datas[-1] == "[DONE]"
    return [json.loads(d) for d in datas[:-1]]


def test_public_api_is_pinned() -> None:
    assert sorted(llmagentos.testing.__all__) == [
        "FunctionModel",
        "LatencyModel",
        "ModelDouble",
        "NullModel",
        "OpenAIServer",
        "RecordedRequest",
        "ScriptedModel",
        "block_real_models",
        "count_tokens",
        "real_models_blocked",
        "serve_openai",
        "stream_chunks",
        "text_response",
        "tool_call_response",
    ]


def test_serve_openai_yields_a_loopback_base_url() -> None:
    with serve_openai(NullModel("pong")) as base_url:
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        data = httpx.post(f"{base_url}/chat/completions", json=chat()).json()
    assert data["object"] == "chat.completion"
    assert data["choices"][0]["message"] == {"role": "assistant", "content": "pong"}
    assert data["usage"] == {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"{base_url}/chat/completions", json=chat())


def test_models_listing_and_unknown_paths() -> None:
    with OpenAIServer(NullModel(), models=("a", "b")) as srv, httpx.Client() as client:
        listing = client.get(f"{srv.base_url}/models").json()
        assert [m["id"] for m in listing["data"]] == ["a", "b"]
        missing = client.post(f"{srv.base_url}/embeddings", json={})
        assert missing.status_code == 404 and "Not Found" in missing.json()["error"]["message"]


def test_tool_calls_and_streamed_deltas() -> None:
    reply = tool_call_response("get_weather", {"city": "Paris"}, id="call_1")
    with OpenAIServer(ScriptedModel([reply], cycle=True)) as srv, httpx.Client() as client:
        plain = client.post(f"{srv.base_url}/chat/completions", json=chat()).json()
        choice = plain["choices"][0]
        assert choice["finish_reason"] == "tool_calls"
        assert choice["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
        body = chat(stream=True, stream_options={"include_usage": True})
        events = sse_events(client.post(f"{srv.base_url}/chat/completions", json=body).text)
    pieces = [
        tc["function"].get("arguments", "")
        for e in events
        for c in e["choices"]
        for tc in c["delta"].get("tool_calls", [])
    ]
    assert len(pieces) > 2 and "".join(pieces) == '{"city": "Paris"}'
    assert events[-1]["choices"] == [] and events[-1]["usage"]["completion_tokens"] > 0


def test_bad_requests_get_openai_style_400s() -> None:
    with OpenAIServer(NullModel()) as srv, httpx.Client() as client:
        url = f"{srv.base_url}/chat/completions"
        not_json = client.post(url, content=b"{nope", headers={"content-type": "application/json"})
        assert not_json.status_code == 400
        no_messages = client.post(url, json={"model": "m"})
        assert no_messages.status_code == 400
        assert "messages" in no_messages.json()["error"]["message"]


def test_fault_injection_order_and_recording() -> None:
    with OpenAIServer(NullModel()) as srv, httpx.Client() as client:
        url = f"{srv.base_url}/chat/completions"
        srv.fail_next(2, 429, retry_after=1.5, code="rate_limit_exceeded")
        srv.malformed_next()
        first = client.post(url, json=chat())
        assert first.status_code == 429 and first.headers["retry-after"] == "1.5"
        assert first.json()["error"]["code"] == "rate_limit_exceeded"
        assert client.post(url, json=chat()).status_code == 429
        broken = client.post(url, json=chat())
        assert broken.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            broken.json()
        assert client.post(url, json=chat()).status_code == 200
        client.get(f"{srv.base_url}/models")
        assert len(srv.requests) == 5 and len(srv.model_requests) == 4
        assert srv.model_requests[0].body == chat()
        srv.reset()
        assert srv.requests == [] and srv.max_concurrent == 0


def test_backend_errors_become_http_errors() -> None:
    def boom(request: object) -> str:
        raise RuntimeError("kaput")

    with OpenAIServer(ScriptedModel([boom])) as srv:
        response = httpx.post(f"{srv.base_url}/chat/completions", json=chat())
        assert response.status_code == 500 and "kaput" in response.json()["error"]["message"]
        # The script is now exhausted: the double's InvalidState is a user error, a 400.
        again = httpx.post(f"{srv.base_url}/chat/completions", json=chat())
        assert again.status_code == 400 and "ran out of replies" in again.text


def test_legacy_completions_stream() -> None:
    with OpenAIServer(ScriptedModel(["a b c"], cycle=True)) as srv:
        body = {"model": "m", "prompt": "x", "stream": True}
        events = sse_events(httpx.post(f"{srv.base_url}/completions", json=body).text)
    assert "".join(e["choices"][0]["text"] for e in events) == "a b c"
    assert events[-1]["choices"][0]["finish_reason"] == "stop"


async def test_async_context_manager_and_concurrency_peak() -> None:
    async with OpenAIServer(LatencyModel(ttft_s=0.05, output_tokens=1)) as srv:
        async with httpx.AsyncClient() as client:
            import asyncio

            url = f"{srv.base_url}/chat/completions"
            await asyncio.gather(*(client.post(url, json=chat()) for _ in range(5)))
        assert srv.max_concurrent == 5 and srv.in_flight == 0


def test_port_in_use_is_reported() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(OSError):
            OpenAIServer(NullModel(), port=port).start()


def test_stop_with_a_request_in_flight_returns() -> None:
    srv = OpenAIServer(NullModel()).__enter__()
    srv.delay_s = 5
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{srv.base_url}/chat/completions", json=chat(), timeout=0.1)
    srv.stop()
    srv.stop()  # twice is fine
