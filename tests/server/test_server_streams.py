"""Streamed completions that end early: what was generated is charged, the call ends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_workload import Served, served_iter, wait_for

from llmagentos.testing import LatencyModel

USER = [{"role": "user", "content": "tell me a long story"}]


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[Served]:
    # 200 words at 40 a second: five seconds, far longer than the client listens.
    model = LatencyModel(ttft_s=0.01, tokens_per_s=40, output_tokens=200)
    yield from served_iter(tmp_path / "state", model=model)


def _operator(served: Served) -> dict[str, Any]:
    c = served.client()
    pid = c.get("/api/whoami").json()["operator_pid"]
    return dict(c.get(f"/api/processes/{pid}").json())


def test_a_client_that_leaves_mid_stream_is_charged_and_the_call_ends(slow: Served) -> None:
    body = {"model": "latency", "messages": USER, "stream": True}
    received = 0
    with slow.client().stream("POST", "/v1/chat/completions", json=body) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("data: "):
                received += len(
                    json.loads(line[6:])["choices"][0]["delta"].get("content", "") or ""
                )
            if received > 20:
                break  # leave: closing the stream drops the connection
    model = slow.model
    wait_for(lambda: model.in_flight == 0, timeout_s=3)
    assert model.calls == 1
    usage = wait_for(lambda: (u := _operator(slow)["usage"]) and u["tokens_out"] and u)
    # Charged for what was generated: some words, far fewer than the 200 it would have been.
    assert 3 <= usage["tokens_out"] < 100
    assert usage["tokens_in"] > 0 and usage["llm_calls"] == 1
    slow.call(slow.state.operators.flush_usage())
    assert slow.state.keys.get("admin").used_tokens == usage["tokens_in"] + usage["tokens_out"]
    rows = slow.client().get(f"/api/processes/{_operator(slow)['pid']}/syscalls").json()
    assert [(r["name"], r["status"]) for r in rows] == [("LLMCall", "done")]
    # The server goes on serving, and the next stream completes.
    out = slow.client().post(
        "/v1/chat/completions", json={"model": "latency", "messages": USER, "max_tokens": 2}
    )
    assert out.status_code == 200 and out.json()["choices"][0]["message"]["content"] == "tok0 tok1"
