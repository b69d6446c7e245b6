"""The legacy `/v1/completions` endpoint, driven by the official `openai` client."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest
from server_workload import Served

from llmagentos.server.openai_schemas import Completion

WORDS = [f"tok{i}" for i in range(8)]  # what the latency double answers


@pytest.fixture
def client(served: Served) -> Iterator[openai.OpenAI]:
    c = openai.OpenAI(api_key=served.admin, base_url=served.url + "/v1", max_retries=0, timeout=15)
    yield c
    c.close()


def test_a_plain_completion_is_a_raw_prompt_through_the_kernel(
    served: Served, client: openai.OpenAI
) -> None:
    out = client.completions.create(model="latency", prompt="Once upon", max_tokens=3, seed=5)
    assert out.object == "text_completion" and out.id.startswith("cmpl-")
    choice = out.choices[0]
    assert choice.text == "tok0 tok1 tok2" and choice.finish_reason == "length"
    assert out.usage is not None and out.usage.completion_tokens == 3
    sent = served.model.last_request
    assert sent.raw_prompt and sent.messages[0].content == "Once upon"
    assert (sent.max_tokens, sent.seed) == (3, 5)
    # OpenAI's default of 16 tokens: the double's 8 words fit, so it stops by itself.
    full = client.completions.create(model="latency", prompt=["Once upon"])
    assert full.choices[0].text == " ".join(WORDS) and full.choices[0].finish_reason == "stop"
    c = served.client()
    operator = c.get("/api/whoami").json()["operator_pid"]
    assert [r["name"] for r in c.get(f"/api/processes/{operator}/syscalls").json()] == [
        "LLMCall",
        "LLMCall",
    ]


def test_streaming_with_usage(client: openai.OpenAI) -> None:
    stream = client.completions.create(
        model="latency", prompt="go", stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == " ".join(WORDS)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 8


@pytest.mark.parametrize("stream", [False, True])
def test_echo_stop_and_logprobs(client: openai.OpenAI, stream: bool) -> None:
    prompt = "say tok0 tok1 tok2 tok3 tok4"  # the scripted double answers "echo <prompt>"
    kwargs = {"model": "scripted", "prompt": prompt, "stop": ["tok3"], "echo": True, "logprobs": 0}
    if stream:
        chunks = list(client.completions.create(stream=True, **kwargs))
        text = "".join(c.choices[0].text for c in chunks)
        with_lps = [c.choices[0].logprobs for c in chunks if c.choices[0].logprobs]
        tokens = [t for lp in with_lps for t in lp.tokens or []]
        first = with_lps[0]
    else:
        out = client.completions.create(**kwargs)
        text, first = out.choices[0].text, out.choices[0].logprobs
        assert first is not None and out.choices[0].finish_reason == "stop"
        tokens = first.tokens or []
    assert text == prompt + "echo say tok0 tok1 tok2 "
    assert [t.strip() for t in tokens][:3] == ["echo", "say", "tok0"]
    assert first.text_offset is not None
    assert first.text_offset[0] == len(prompt)  # offsets count the echoed prompt


def test_stream_events_match_the_documented_schema(served: Served) -> None:
    body = {"model": "latency", "prompt": "hi", "stream": True, "max_tokens": 4}
    events = []
    with served.client().stream("POST", "/v1/completions", json=body) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    events = [Completion.model_validate(json.loads(line[6:])) for line in lines[:-1]]
    assert len({e.id for e in events}) == 1 and events[-1].choices[0].finish_reason == "length"


def test_bad_requests_are_openai_errors(served: Served, client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.completions.create(model="gpt-17", prompt="x")
    for bad in (
        {"prompt": ["one", "two"]},  # one prompt only
        {"prompt": [1, 2, 3]},  # token arrays are not taken
        {"prompt": "x", "n": 2},
        {"prompt": "x", "best_of": 3},
        {"prompt": "x", "suffix": "after"},
        {"prompt": "x", "logprobs": 9},
        {"prompt": "x", "max_tokens": 0},
        {},
    ):
        r = served.client().post("/v1/completions", json={"model": "latency", **bad})
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"]["type"] == "invalid_request_error"
    reader = served.key("reader", ["read"])
    r = served.client(reader).post("/v1/completions", json={"model": "latency", "prompt": "x"})
    assert r.status_code == 403 and r.json()["error"]["type"] == "permission_error"
