"""Model backends through the kernel for real: the `openai:` backend against a loopback
OpenAI-compatible server (chat, native tool calls, streaming, retries, exhausted retries),
and the per-resource concurrency limits of models and tools."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from llmagentos import Capabilities, Kernel, tool
from llmagentos.errors import BackendError
from llmagentos.llm.types import LLMRequest, Message
from llmagentos.records import loads
from llmagentos.testing import FunctionModel, LatencyModel, OpenAIServer, tool_call_response

Reply = Any


def brain(messages: tuple[Message, ...], request: LLMRequest) -> Reply:
    """Calls `add` when offered tools, reads the tool's answer back, else echoes."""
    last = messages[-1]
    if last.role == "tool":
        return f"the answer is {last.content}"
    if request.tools:
        return tool_call_response("add", {"a": 2, "b": 3}, id="call_1")
    return "echo: " + last.content


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer(FunctionModel(brain)) as running:
        yield running


def remote(server: OpenAIServer, **options: Any) -> str:
    """An `openai:` model spec for the loopback server, with fast retries."""
    options = {"api_key": "sk-test", "max_retries": 2, "backoff_base_s": 0.01, **options}
    query = "&".join(f"{k}={v}" for k, v in options.items())
    return f"openai:some-model@{server.base_url}?{query}"


@pytest.fixture
async def kernel(make_kernel: Any, server: OpenAIServer) -> Kernel:
    made: Kernel = await make_kernel(models={"remote": remote(server)})
    return made


async def committed(kernel: Kernel, pid: int) -> list[tuple[str, str]]:
    """(kind, status) of each journal row of `pid`, once everything queued is committed."""
    await asyncio.sleep(0.01)
    await kernel.db.write(lambda conn: None)
    rows = kernel.db.query(
        "SELECT kind, status, result FROM journal WHERE pid = ? ORDER BY seq", (pid,)
    )
    return [(r["kind"], r["status"]) for r in rows]


async def run(kernel: Kernel, program: Any, **kw: Any) -> Any:
    status = await asyncio.wait_for(kernel.run(program, **kw), 30)
    assert status.state == "done", status.error
    return status


# -- the openai: backend over loopback HTTP ---------------------------------------------


async def test_chat(kernel: Kernel, server: OpenAIServer) -> None:
    async def prog(ctx: Any) -> str:
        return (await ctx.chat("hello world", max_tokens=20, temperature=0.0)).text

    status = await run(kernel, prog)
    assert status.result == "echo: hello world"
    (sent,) = server.model_requests
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.body["model"] == "some-model" and sent.body["max_tokens"] == 20
    assert sent.body["messages"] == [{"role": "user", "content": "hello world"}]
    usage = kernel.get(status.pid).usage()
    assert (usage.llm_calls, usage.tokens_in, usage.tokens_out) == (1, 2, 3)
    assert await committed(kernel, status.pid) == [("llm", "done")]


async def test_native_tool_calls_round_trip(kernel: Kernel, server: OpenAIServer) -> None:
    async def prog(ctx: Any) -> str:
        question = Message(role="user", content="what is 2 + 3?")
        first = await ctx.chat([question], tools=["add"])
        (call,) = first.message.tool_calls
        result = await ctx.tool(call.name, **json.loads(call.arguments))
        answer = Message(
            role="tool", content=result.as_observation(), tool_call_id=call.id, name=call.name
        )
        final = await ctx.chat([question, first.message, answer], tools=["add"])
        return final.text

    status = await run(kernel, prog)
    assert status.result == "the answer is 5"
    first, second = (r.body for r in server.model_requests)
    assert [t["function"]["name"] for t in first["tools"]] == ["add"]
    assert first["tools"][0]["function"]["parameters"]["required"] == ["a", "b"]
    assistant, tool_turn = second["messages"][1:]
    assert assistant["tool_calls"][0]["id"] == "call_1"
    assert tool_turn == {"role": "tool", "content": "5", "tool_call_id": "call_1", "name": "add"}
    assert await committed(kernel, status.pid) == [
        ("llm", "done"),
        ("tool", "done"),
        ("llm", "done"),
    ]


async def test_streaming(kernel: Kernel, server: OpenAIServer) -> None:
    async def prog(ctx: Any) -> list[Any]:
        chunks = [c async for c in ctx.stream("one two three four")]
        return [len(chunks), "".join(c.delta for c in chunks), chunks[-1].finish_reason]

    status = await run(kernel, prog)
    count, text, reason = status.result
    assert text == "echo: one two three four" and reason == "stop"
    assert count >= 5  # word by word, then the final chunk
    (sent,) = server.model_requests
    assert sent.body["stream"] is True
    assert await committed(kernel, status.pid) == [("llm", "done")]
    row = kernel.db.query_one("SELECT result FROM journal WHERE pid = ?", (status.pid,))
    assert loads(row["result"]).text == text  # the whole answer is journaled once


async def test_rate_limited_then_success_is_one_journaled_result(
    kernel: Kernel, server: OpenAIServer
) -> None:
    server.fail_next(1, 429, retry_after=0.2)

    async def prog(ctx: Any) -> str:
        return (await ctx.chat("again")).text

    t0 = time.monotonic()
    status = await run(kernel, prog)
    assert status.result == "echo: again"
    assert time.monotonic() - t0 >= 0.2  # Retry-After was honoured
    assert len(server.model_requests) == 2  # retried inside the backend ...
    assert await committed(kernel, status.pid) == [("llm", "done")]  # ... one result
    assert kernel.get(status.pid).usage().llm_calls == 1


async def chat_or_error(ctx: Any) -> dict[str, Any]:
    try:
        return {"text": (await ctx.chat("are you there?")).text}
    except BackendError as exc:
        return {
            "type": type(exc).__name__,
            "recoverable": exc.recoverable,
            "attempts": exc.details.get("attempts"),
        }


@pytest.mark.parametrize(
    ("status_code", "error"), [(429, "RateLimited"), (503, "BackendUnavailable")]
)
async def test_exhausted_retries_are_typed_and_the_kernel_goes_on(
    kernel: Kernel, server: OpenAIServer, status_code: int, error: str
) -> None:
    server.fail_next(3, status_code)  # max_retries=2: three attempts, all refused
    failed = await run(kernel, chat_or_error)
    assert failed.result == {"type": error, "recoverable": True, "attempts": 3}
    assert len(server.model_requests) == 3
    assert await committed(kernel, failed.pid) == [("llm", "error")]
    row = kernel.db.query_one("SELECT result FROM journal WHERE pid = ?", (failed.pid,))
    assert loads(row["result"]).type == error  # a replay fails it the same way

    later = await run(kernel, chat_or_error)
    assert later.result == {"text": "echo: are you there?"}


async def test_malformed_answer_is_typed_and_the_kernel_goes_on(
    kernel: Kernel, server: OpenAIServer
) -> None:
    server.malformed_next()
    failed = await run(kernel, chat_or_error)
    assert failed.result["type"] == "BackendError"
    assert (await run(kernel, chat_or_error)).result == {"text": "echo: are you there?"}


async def test_streaming_respects_the_token_budget(kernel: Kernel, server: OpenAIServer) -> None:
    async def prog(ctx: Any) -> str:
        return "".join([c.delta async for c in ctx.stream("hi there", max_tokens=500)])

    await run(kernel, prog, capabilities=Capabilities(max_tokens=50))
    assert server.model_requests[-1].body["max_tokens"] <= 50


# -- concurrency limits -----------------------------------------------------------------


async def one_chat(ctx: Any) -> str:
    return (await ctx.chat("go", max_tokens=8)).text


@pytest.mark.parametrize("over_http", [False, True])
async def test_model_concurrency_limit_holds_for_many_agents(
    make_kernel: Any, over_http: bool
) -> None:
    if over_http:
        backend = LatencyModel(ttft_s=0.03, tokens_per_s=1000, output_tokens=4)
        with OpenAIServer(backend) as srv:
            kernel: Kernel = await make_kernel(models={"slow": remote(srv, max_concurrency=2)})
            pids = [await kernel.spawn(one_chat) for _ in range(10)]
            statuses = [await kernel.wait(p, timeout=30) for p in pids]
            peak = srv.max_concurrent
    else:
        backend = LatencyModel(ttft_s=0.03, tokens_per_s=1000, output_tokens=4, max_concurrency=2)
        kernel = await make_kernel(models={"slow": backend})
        pids = [await kernel.spawn(one_chat) for _ in range(10)]
        statuses = [await kernel.wait(p, timeout=30) for p in pids]
        peak = backend.max_in_flight
    assert [s.result for s in statuses] == ["tok0 tok1 tok2 tok3"] * 10
    assert backend.calls == 10
    assert peak == 2  # saturated, never exceeded


class Overlap:
    """Counts how many calls run at once, from the tools' own threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0

    def __enter__(self) -> None:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.active -= 1


SERIAL, PARALLEL = Overlap(), Overlap()


@tool(concurrency=1)
def serial(i: int) -> int:
    """A tool that must never run twice at once."""
    with SERIAL:
        time.sleep(0.02)
    return i


@tool
def parallel(i: int) -> int:
    """The same work without a limit (shows the probe does see overlaps)."""
    with PARALLEL:
        time.sleep(0.02)
    return i


async def test_tool_concurrency_one_never_overlaps(make_kernel: Any) -> None:
    kernel: Kernel = await make_kernel(tools=[serial, parallel])

    async def prog(ctx: Any, name: str, i: int) -> int:
        return (await ctx.tool(name, i=i)).output

    for name, probe in (("serial", SERIAL), ("parallel", PARALLEL)):
        pids = [await kernel.spawn(prog, {"name": name, "i": i}) for i in range(6)]
        results = [(await kernel.wait(p, timeout=30)).result for p in pids]
        assert results == list(range(6))
        assert probe.active == 0
    assert SERIAL.peak == 1
    assert PARALLEL.peak > 1
