"""The OpenAI-compatible endpoints, driven by the official `openai` client, unchanged."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from server_workload import Served, served_iter

from llmagentos.testing import LatencyModel

USER = [{"role": "user", "content": "hello there"}]


@pytest.fixture
def client(served: Served) -> Iterator[openai.OpenAI]:
    c = openai.OpenAI(api_key=served.admin, base_url=served.url + "/v1", max_retries=0, timeout=15)
    yield c
    c.close()


def test_models_and_a_plain_completion(served: Served, client: openai.OpenAI) -> None:
    assert sorted(m.id for m in client.models.list()) == ["latency", "scripted"]
    out = client.chat.completions.create(
        model="latency",
        messages=USER,
        max_tokens=5,
        temperature=0.7,
        seed=3,
    )
    choice = out.choices[0]
    assert choice.message.content == "tok0 tok1 tok2 tok3 tok4"
    assert choice.finish_reason == "length"
    assert out.usage is not None and out.usage.completion_tokens == 5
    assert out.model == "latency" and out.id.startswith("chatcmpl-")
    sent = served.model.last_request
    assert (sent.temperature, sent.seed, sent.max_tokens) == (0.7, 3, 5)
    full = client.chat.completions.create(model="latency", messages=USER)
    assert full.choices[0].finish_reason == "stop"


def test_streaming_with_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="latency",
        messages=USER,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == " ".join(f"tok{i}" for i in range(8))
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finishes == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 8


@pytest.mark.parametrize("stream", [False, True])
def test_stop_sequences(client: openai.OpenAI, stream: bool) -> None:
    kwargs = {"model": "latency", "messages": USER, "stop": ["tok3", "zzz"]}
    if not stream:
        out = client.chat.completions.create(**kwargs)
        assert out.choices[0].message.content == "tok0 tok1 tok2 "
        assert out.choices[0].finish_reason == "stop"
        return
    chunks = list(client.chat.completions.create(stream=True, **kwargs))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "tok0 tok1 tok2 "


def test_logprobs(client: openai.OpenAI) -> None:
    out = client.chat.completions.create(
        model="latency",
        messages=USER,
        max_tokens=3,
        logprobs=True,
    )
    lps = out.choices[0].logprobs
    assert lps is not None and lps.content is not None
    assert [t.token.strip() for t in lps.content] == ["tok0", "tok1", "tok2"]
    plain = client.chat.completions.create(model="latency", messages=USER, max_tokens=3)
    assert plain.choices[0].logprobs is None


@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls_round_trip(client: openai.OpenAI, stream: bool) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "Weather in a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    messages: list[dict[str, object]] = [{"role": "user", "content": "weather in Paris?"}]
    if stream:
        chunks = list(
            client.chat.completions.create(
                model="scripted",
                messages=messages,
                tools=tools,
                stream=True,
            )
        )
        deltas = [tc for c in chunks for tc in (c.choices[0].delta.tool_calls or [])]
        assert deltas[0].function is not None and deltas[0].function.name == "weather"
        assert json.loads(deltas[0].function.arguments or "") == {"city": "Paris"}
        assert chunks[-1].choices[0].finish_reason == "tool_calls"
        return
    out = client.chat.completions.create(model="scripted", messages=messages, tools=tools)
    call = out.choices[0].message.tool_calls[0]
    assert out.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "weather" and json.loads(call.function.arguments) == {
        "city": "Paris"
    }
    messages += [
        out.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    final = client.chat.completions.create(model="scripted", messages=messages, tools=tools)
    assert final.choices[0].message.content == "the tool said sunny"


def test_errors_are_openai_errors(served: Served, client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="gpt-17", messages=USER)
    assert "does not exist" in str(missing.value)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="latency", messages=USER, n=2)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="latency", messages=[])
    # A full model spec must not make the server load a backend.
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="openai:gpt-4o@http://10.0.0.1/v1", messages=USER)
    bad = openai.OpenAI(api_key="lak_nope", base_url=served.url + "/v1", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    bad.close()


def test_completions_are_syscalls_of_the_keys_process(
    served: Served, client: openai.OpenAI
) -> None:
    client.chat.completions.create(model="latency", messages=USER, max_tokens=2)
    c = served.client()
    operator = c.get("/api/whoami").json()["operator_pid"]
    rows = c.get(f"/api/processes/{operator}/syscalls").json()
    assert [r["name"] for r in rows] == ["LLMCall"]
    info = c.get(f"/api/processes/{operator}").json()
    assert info["program"] == "api:admin" and info["usage"]["llm_calls"] == 1


def test_clients_share_the_model_with_agents_through_the_scheduler(tmp_path: Path) -> None:
    # One slot on the model: agents and API clients must take turns on it.
    slow = LatencyModel(ttft_s=0.02, tokens_per_s=1000, output_tokens=4, max_concurrency=1)
    gen = served_iter(tmp_path / "s", model=slow)
    served = next(gen)
    try:
        c = served.client()
        pids = [
            c.post(
                "/api/processes", json={"program": "chatty", "args": {"rounds": 4, "delay": 0}}
            ).json()["pid"]
            for _ in range(3)
        ]
        client = openai.OpenAI(api_key=served.admin, base_url=served.url + "/v1", max_retries=0)
        answers: list[str] = []

        def ask() -> None:
            out = client.chat.completions.create(model="latency", messages=USER)
            answers.append(out.choices[0].message.content or "")

        threads = [threading.Thread(target=ask) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        for pid in pids:
            assert c.get(f"/api/processes/{pid}/wait").json()["state"] == "done"
        assert answers == ["tok0 tok1 tok2 tok3"] * 4
        assert slow.max_in_flight == 1
        programs = {p["program"]: p for p in c.get("/api/scheduler").json()["programs"]}
        assert programs["api:admin"]["calls"] == 4 and programs["chatty"]["calls"] == 12
        client.close()
    finally:
        gen.close()


def test_stream_events_match_the_documented_chunk_schema(served: Served) -> None:
    from llmagentos.server.openai_schemas import ChatCompletionChunk

    body = {
        "model": "scripted",  # this double streams logprobs word by word
        "messages": USER,
        "stream": True,
        "logprobs": True,
        "stream_options": {"include_usage": True},
    }
    events = []
    with served.client().stream("POST", "/v1/chat/completions", json=body) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                events.append(ChatCompletionChunk.model_validate(json.loads(line[6:])))
    assert events[0].choices[0].delta.role == "assistant"
    assert any(e.choices and e.choices[0].logprobs is not None for e in events)
    assert events[-1].choices == [] and events[-1].usage is not None
    assert len({e.id for e in events}) == 1


def test_a_new_keys_first_requests_may_come_at_once(served: Served) -> None:
    token = served.key("burst", ["operate"])
    body = {"model": "latency", "messages": USER, "stream": True, "max_tokens": 3}
    statuses: list[int] = []

    def first() -> None:
        with served.client(token).stream("POST", "/v1/chat/completions", json=body) as r:
            r.read()
            statuses.append(r.status_code)

    threads = [threading.Thread(target=first) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert statuses == [200] * 8


def test_response_formats_reach_the_model_and_bad_ones_are_400(
    served: Served, client: openai.OpenAI
) -> None:
    fmt = {"type": "choice", "choices": ["tok0", "tok1"]}
    client.chat.completions.create(
        model="latency", messages=USER, max_tokens=2, extra_body={"response_format": fmt}
    )
    assert served.model.last_request.response_format == fmt
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    client.chat.completions.create(
        model="latency",
        messages=USER,
        max_tokens=2,
        response_format={"type": "json_schema", "json_schema": {"name": "n", "schema": schema}},
    )
    assert served.model.last_request.response_format["json_schema"]["schema"] == schema
    client.chat.completions.create(
        model="latency", messages=USER, max_tokens=2, response_format={"type": "text"}
    )
    assert served.model.last_request.response_format is None
    with pytest.raises(openai.BadRequestError, match="unknown response_format"):
        client.chat.completions.create(
            model="latency", messages=USER, extra_body={"response_format": {"type": "yaml"}}
        )
