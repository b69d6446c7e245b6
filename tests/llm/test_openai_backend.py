"""OpenAIBackend against the real loopback OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from llmagentos.errors import (
    BackendError,
    BackendUnavailable,
    InvalidArgument,
    InvalidState,
    LLMAgentOSError,
    PermissionDenied,
    RateLimited,
    RequestTooLarge,
    UnknownModel,
)
from llmagentos.llm.openai import OpenAIBackend
from llmagentos.llm.types import (
    LLMRequest,
    LLMResponse,
    Message,
    StreamChunk,
    TokenLogprob,
    ToolCallRequest,
    ToolSpec,
)
from llmagentos.testing import (
    LatencyModel,
    OpenAIServer,
    ScriptedModel,
    text_response,
    tool_call_response,
)

Make = Callable[..., OpenAIBackend]

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather in a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)


def ask(text: str = "hi", **fields: Any) -> LLMRequest:
    return LLMRequest(messages=(Message(role="user", content=text),), **fields)


@pytest.fixture
async def make(server: OpenAIServer) -> AsyncIterator[Make]:
    """Build backends on `server` with fast backoff; all are closed afterwards."""
    made: list[OpenAIBackend] = []

    def build(**kw: Any) -> OpenAIBackend:
        kw.setdefault("base_url", server.base_url)
        kw.setdefault("backoff_base_s", 0.001)
        kw.setdefault("backoff_cap_s", 1.0)
        backend = OpenAIBackend(kw.pop("model", "test-model"), api_key="sk-test", **kw)
        made.append(backend)
        return backend

    yield build
    for backend in made:
        await backend.aclose()


async def collect(backend: OpenAIBackend, request: LLMRequest) -> list[StreamChunk]:
    return [chunk async for chunk in backend.stream(request)]


# -- happy paths ------------------------------------------------------------------------


async def test_plain_chat(make: Make, model: ScriptedModel, server: OpenAIServer) -> None:
    response = await make().complete(ask("say hello", temperature=0.5))
    assert response.text == "hello there"
    assert response.finish_reason == "stop"
    assert response.usage.prompt_tokens == 2 and response.usage.completion_tokens == 2
    assert model.last_request.messages == (Message(role="user", content="say hello"),)
    assert model.last_request.temperature == 0.5
    (sent,) = server.model_requests
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.body["model"] == "test-model"


async def test_tools_round_trip(make: Make, model: ScriptedModel) -> None:
    model.replies = [tool_call_response("get_weather", {"city": "Paris"}, id="call_7"), "Sunny."]
    backend = make()
    first = await backend.complete(ask("weather in Paris?", tools=(WEATHER,)))
    assert first.finish_reason == "tool_calls"
    (call,) = first.message.tool_calls
    assert call == ToolCallRequest(id="call_7", name="get_weather", arguments='{"city": "Paris"}')
    assert model.last_request.tools == (WEATHER,)

    history = (
        Message(role="system", content="Be brief."),
        Message(role="user", content="weather in Paris?"),
        first.message,
        Message(role="tool", content='{"sky": "clear"}', tool_call_id="call_7", name="get_weather"),
    )
    second = await backend.complete(LLMRequest(messages=history, tools=(WEATHER,)))
    assert second.text == "Sunny."
    assert model.last_request.messages == history  # every field survived the wire both ways


async def test_stop_max_tokens_seed_passthrough(
    make: Make, model: ScriptedModel, server: OpenAIServer
) -> None:
    await make().complete(ask(max_tokens=7, stop=("\n", "END"), seed=42, top_p=0.9))
    body = server.model_requests[-1].body
    assert body["max_tokens"] == 7 and body["stop"] == ["\n", "END"]
    assert body["seed"] == 42 and body["top_p"] == 0.9
    got = model.last_request
    assert (got.max_tokens, got.stop, got.seed, got.top_p) == (7, ("\n", "END"), 42, 0.9)


async def test_logprobs(make: Make, model: ScriptedModel, server: OpenAIServer) -> None:
    lps = (TokenLogprob("a", -0.5), TokenLogprob(" b", -1.25))
    model.replies = [LLMResponse(message=Message(role="assistant", content="a b"), logprobs=lps)]
    response = await make().complete(ask(logprobs=True))
    assert response.logprobs == lps
    assert server.model_requests[-1].body["logprobs"] is True


async def test_streaming_text(make: Make) -> None:
    chunks = await collect(make(), ask("stream please"))
    *content, final = chunks
    assert "".join(c.delta for c in content) == "hello there"
    assert all(c.finish_reason is None for c in content)
    assert final.finish_reason == "stop" and final.delta == ""
    assert final.usage is not None and final.usage.completion_tokens == 2


async def test_streaming_tool_call_deltas(make: Make, model: ScriptedModel) -> None:
    args = json.dumps({"city": "Reykjavik", "units": "metric", "days": 3})
    two_calls = LLMResponse(
        message=Message(
            role="assistant",
            content="Checking.",
            tool_calls=(
                ToolCallRequest(id="c1", name="get_weather", arguments=args),
                ToolCallRequest(id="c2", name="get_time", arguments="{}"),
            ),
        ),
        finish_reason="tool_calls",
    )
    model.replies = [two_calls]
    chunks = await collect(make(), ask(tools=(WEATHER,)))
    final = chunks[-1]
    assert final.finish_reason == "tool_calls"
    assert final.tool_calls == two_calls.message.tool_calls
    assert "".join(c.delta for c in chunks) == "Checking."


async def test_streaming_logprobs(make: Make, model: ScriptedModel) -> None:
    lps = (TokenLogprob("x ", -0.1), TokenLogprob("y", -0.2))
    model.replies = [LLMResponse(message=Message(role="assistant", content="x y"), logprobs=lps)]
    chunks = await collect(make(), ask(logprobs=True))
    got = tuple(lp for c in chunks for lp in (c.logprobs or ()))
    assert got == lps


async def test_raw_prompt_uses_legacy_completions(
    make: Make, model: ScriptedModel, server: OpenAIServer
) -> None:
    model.replies = [text_response("four")]
    response = await make().complete(ask("2+2=", raw_prompt=True, logprobs=True))
    assert response.text == "four"
    assert response.logprobs == (TokenLogprob("four", 0.0),)
    assert [r.path for r in server.model_requests] == ["/v1/completions"]
    assert server.model_requests[0].body["prompt"] == "2+2="
    assert model.last_request.raw_prompt


async def test_raw_prompt_falls_back_to_chat_once(model: ScriptedModel, make: Make) -> None:
    with OpenAIServer(model, legacy_completions=False) as chat_only:
        backend = make(base_url=chat_only.base_url)
        assert (await backend.complete(ask("Once upon", raw_prompt=True))).text == "hello there"
        chunks = await collect(backend, ask("a time", raw_prompt=True))
        assert "".join(c.delta for c in chunks) == "hello there"
        paths = [r.path for r in chat_only.model_requests]
    # The 404 is learnt once per backend: later raw prompts go straight to chat.
    assert paths == ["/v1/completions", "/v1/chat/completions", "/v1/chat/completions"]
    assert model.last_request.messages == (Message(role="user", content="a time"),)


async def test_raw_prompt_streams_from_legacy(make: Make, server: OpenAIServer) -> None:
    chunks = await collect(make(), ask("go", raw_prompt=True))
    assert "".join(c.delta for c in chunks) == "hello there"
    assert chunks[-1].finish_reason == "stop" and chunks[-1].usage is not None
    assert server.model_requests[0].path == "/v1/completions"


# -- retries and errors -------------------------------------------------------------------


async def test_retry_on_429_honours_retry_after(make: Make, server: OpenAIServer) -> None:
    server.fail_next(1, 429, retry_after=0.3)
    start = time.monotonic()
    assert (await make().complete(ask())).text == "hello there"
    assert time.monotonic() - start >= 0.29
    assert len(server.model_requests) == 2


async def test_retry_on_503_then_success(make: Make, server: OpenAIServer) -> None:
    server.fail_next(2, 503)
    assert (await make().complete(ask())).text == "hello there"
    assert len(server.model_requests) == 3


async def test_stream_opening_is_retried(make: Make, server: OpenAIServer) -> None:
    server.fail_next(1, 502)
    chunks = await collect(make(), ask())
    assert "".join(c.delta for c in chunks) == "hello there"


@pytest.mark.parametrize(("status", "error"), [(503, BackendUnavailable), (429, RateLimited)])
async def test_exhausted_retries(
    make: Make, server: OpenAIServer, status: int, error: type[LLMAgentOSError]
) -> None:
    server.fail_next(10, status)
    with pytest.raises(error) as info:
        await make(max_retries=2).complete(ask())
    assert info.value.details["attempts"] == 3
    assert info.value.details["status"] == status
    assert len(server.model_requests) == 3


async def test_retry_after_beyond_cap_gives_up_at_once(make: Make, server: OpenAIServer) -> None:
    server.fail_next(1, 429, retry_after=120)
    with pytest.raises(RateLimited) as info:
        await make(backoff_cap_s=5).complete(ask())
    assert info.value.details["retry_after_s"] == 120
    assert len(server.model_requests) == 1


async def test_401_is_permission_denied(model: ScriptedModel, make: Make) -> None:
    with OpenAIServer(model, api_key="sk-right") as locked:
        with pytest.raises(PermissionDenied, match="Incorrect API key"):
            await make(base_url=locked.base_url).complete(ask())
        assert len(locked.model_requests) == 1  # not retried


async def test_unknown_model(model: ScriptedModel, make: Make) -> None:
    with OpenAIServer(model, models=("known",)) as picky:
        with pytest.raises(UnknownModel, match="does not exist"):
            await make(base_url=picky.base_url, model="unknown").complete(ask())
        assert (await make(base_url=picky.base_url, model="known").complete(ask())).text


async def test_context_length_is_request_too_large() -> None:
    small = ScriptedModel(["x"], cycle=True, context_window=10)
    with OpenAIServer(small) as srv:
        backend = OpenAIBackend("m", base_url=srv.base_url, max_retries=0)
        with pytest.raises(RequestTooLarge, match="maximum context length"):
            await backend.complete(ask("a few words here", max_tokens=8))
        await backend.aclose()


async def test_other_400_is_invalid_argument(make: Make, server: OpenAIServer) -> None:
    server.fail_next(1, 400, message="temperature must be <= 2")
    with pytest.raises(InvalidArgument, match="temperature"):
        await make().complete(ask())


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b'{"choices": [', "not JSON"),
        (b'{"choices": [{"message": 5}]}', r"choices\.0\.message"),
        (b'{"choices": []}', "no choices"),
        (b"[1, 2]", "malformed response"),
    ],
)
async def test_malformed_json_is_backend_error(
    make: Make, server: OpenAIServer, body: bytes, match: str
) -> None:
    server.malformed_next(1, body)
    with pytest.raises(BackendError, match=match):
        await make().complete(ask())


async def test_malformed_stream_is_backend_error(make: Make, server: OpenAIServer) -> None:
    server.malformed_next(1)
    with pytest.raises(BackendError, match="malformed stream event"):
        await collect(make(), ask())


async def test_error_mid_stream_is_backend_error(model: ScriptedModel, make: Make) -> None:
    def explode(request: LLMRequest) -> str:
        raise RuntimeError("GPU fell over")

    model.replies = [explode]
    with pytest.raises(BackendError, match="GPU fell over"):
        await collect(make(max_retries=0), ask())


async def test_request_timeout(make: Make, server: OpenAIServer) -> None:
    server.delay_s = 1.0
    start = time.monotonic()
    with pytest.raises(BackendUnavailable, match="timed out") as info:
        await make(timeout_s=0.15, max_retries=1).complete(ask())
    assert info.value.details["attempts"] == 2
    assert time.monotonic() - start < 0.9


async def test_connection_refused_is_retried_then_unavailable(model: ScriptedModel) -> None:
    with OpenAIServer(model) as srv:
        url = srv.base_url
    backend = OpenAIBackend("m", base_url=url, max_retries=2, backoff_base_s=0.001)
    with pytest.raises(BackendUnavailable, match="Connect") as info:
        await backend.complete(ask())
    assert info.value.details["attempts"] == 3
    await backend.aclose()


async def test_closed_backend_refuses(make: Make) -> None:
    backend = make()
    await backend.aclose()
    with pytest.raises(InvalidState):
        await backend.complete(ask())


# -- limits -----------------------------------------------------------------------------


async def test_concurrency_limit_never_exceeded() -> None:
    slow = LatencyModel(ttft_s=0.03, tokens_per_s=1000, output_tokens=5)
    with OpenAIServer(slow) as srv:
        backend = OpenAIBackend("m", base_url=srv.base_url, max_concurrency=3)
        results = await asyncio.gather(*(backend.complete(ask()) for _ in range(12)))
        await backend.aclose()
        assert srv.max_concurrent == 3
    assert all(r.text == "tok0 tok1 tok2 tok3 tok4" for r in results)


async def test_requests_per_minute_paces_calls(make: Make, server: OpenAIServer) -> None:
    backend = make(requests_per_minute=600)  # 10 a second, a burst of 10
    start = time.monotonic()
    await asyncio.gather(*(backend.complete(ask()) for _ in range(14)))
    assert time.monotonic() - start >= 0.35  # the 4 beyond the burst wait 0.1 s each
    assert len(server.model_requests) == 14


async def test_tokens_per_minute_settles_with_real_usage(make: Make) -> None:
    backend = make(tokens_per_minute=600)  # 10 tokens a second
    await backend.complete(ask("word " * 40))
    bucket = backend._tpm
    assert bucket is not None
    # Estimated 51 tokens from 200 chars, real usage 40 + 2: the difference was refunded.
    assert bucket.capacity - bucket.level == pytest.approx(42, abs=1)


async def test_response_formats_go_over_the_wire(
    make: Make, model: ScriptedModel, server: OpenAIServer
) -> None:
    backend = make()
    model.replies = ['{"choice": "Work starts in May."}']
    choices = ["The plan adds lanes.", "Work starts in May."]
    reply = await backend.complete(ask(response_format={"type": "choice", "choices": choices}))
    assert reply.text == "Work starts in May."  # asked as JSON, read back as the choice
    sent = server.model_requests[-1].body["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["schema"]["properties"]["choice"]["enum"] == choices
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    model.replies = ['{"n": 3}']
    fmt = {"type": "json_schema", "json_schema": {"schema": schema}}
    assert (await backend.complete(ask(response_format=fmt))).text == '{"n": 3}'
    sent = server.model_requests[-1].body["response_format"]
    assert sent["json_schema"] == {"name": "reply", "schema": schema}
    # a raw prompt with a format goes to the chat endpoint: completions take no format
    await backend.complete(ask(raw_prompt=True, response_format={"type": "json_object"}))
    assert server.model_requests[-1].path == "/v1/chat/completions"
    picks = {"type": "picks", "choices": ["a:", "b:"], "count": 2, "texts": {"b:": [" yes."]}}
    model.replies = ['{"picks": [{"line": "b: yes."}, {"choice": "a:", "text": " free"}]}']
    assert (await backend.complete(ask(response_format=picks))).text == "b: yes.\na: free"
    items = server.model_requests[-1].body["response_format"]["json_schema"]["schema"]
    kinds = items["properties"]["picks"]["items"]["anyOf"]
    assert kinds[0]["properties"]["choice"]["enum"] == ["a:"]
    assert kinds[1]["properties"]["line"]["enum"] == ["b: yes."]
    with pytest.raises(InvalidArgument, match="unknown response_format"):
        await backend.complete(ask(response_format={"type": "yaml"}))
    with pytest.raises(InvalidArgument, match="complete"):
        await collect(backend, ask(response_format={"type": "choice", "choices": choices}))
