"""LocalBackend through the `hf:` spec: chat, streaming, logprobs, scoring, errors, cancelling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from local_reference import greedy_reference

from llmagentos.errors import InvalidArgument, RequestTooLarge, UnknownModel
from llmagentos.llm import LLMRequest, Message, ToolSpec, create_backend
from llmagentos.llm.local import Generation, LocalBackend
from llmagentos.llm.local.backend import to_response
from llmagentos.llm.local.chat import render


@pytest.fixture
async def backend(tiny_path: Path) -> AsyncIterator[LocalBackend]:
    b = create_backend(f"hf:{tiny_path}?max_batch=4&min_steps=1")
    assert isinstance(b, LocalBackend)
    yield b
    await b.aclose()


def ask(text: str, **kw: Any) -> LLMRequest:
    return LLMRequest(messages=(Message(role="user", content=text),), **kw)


def expected(b: LocalBackend, request: LLMRequest) -> tuple[list[int], str]:
    prompt = render(b.tokenizer, request)
    eos = b.loaded.eos_ids[0]
    ids = greedy_reference(b.loaded.model, prompt, request.max_tokens, eos)
    text = b.tokenizer.decode([t for t in ids if t != eos], skip_special_tokens=True)
    return ids, text


async def test_the_spec_loads_config_weights_tokenizer_and_template(backend: LocalBackend) -> None:
    assert backend.context_window == 512 and backend.max_concurrency == 16
    request = ask("hello agent", max_tokens=10)
    prompt = render(backend.tokenizer, request)
    assert backend.tokenizer.decode(prompt).startswith("<|im_start|>user\nhello agent")
    assert backend.count_prompt_tokens(request) == len(prompt)


async def test_concurrent_chats_equal_greedy_generation(backend: LocalBackend) -> None:
    requests = [ask(f"question {i}: " + "what is the weather " * i, max_tokens=9) for i in range(7)]
    answers = await asyncio.gather(*(backend.complete(r) for r in requests))
    for request, answer in zip(requests, answers, strict=True):
        ids, text = expected(backend, request)
        assert answer.text == text
        assert answer.usage.completion_tokens == len(ids)
        assert answer.usage.prompt_tokens == backend.count_prompt_tokens(request)
        assert answer.finish_reason == ("length" if len(ids) == 9 else "stop")


async def test_stream_matches_complete(backend: LocalBackend) -> None:
    request = ask("stream this please", max_tokens=12, logprobs=True)
    whole = await backend.complete(request)
    chunks = [c async for c in backend.stream(request)]
    assert "".join(c.delta for c in chunks) == whole.text
    assert chunks[-1].finish_reason == whole.finish_reason and chunks[-1].usage == whole.usage
    streamed = [lp for c in chunks for lp in (c.logprobs or ())]
    assert whole.logprobs is not None and len(whole.logprobs) == whole.usage.completion_tokens
    assert [lp.logprob for lp in streamed] == pytest.approx([lp.logprob for lp in whole.logprobs])


async def test_scoring_is_log_p_of_y_given_x(backend: LocalBackend) -> None:
    import torch

    tok = backend.tokenizer
    score = await backend.score("the agent calls", " the tool")
    ctx, cont = tok.encode("the agent calls"), tok.encode(" the tool")
    assert score.token_ids == tuple(cont)
    with torch.no_grad():
        logits = backend.loaded.model(input_ids=torch.tensor([ctx + cont])).logits[0]
    logp = torch.log_softmax(logits.float(), -1)
    direct = [float(logp[len(ctx) - 1 + i, t]) for i, t in enumerate(cont)]
    assert score.logprobs == pytest.approx(direct, abs=1e-4)
    assert await backend.loglikelihood("the agent calls", " the tool") == pytest.approx(
        sum(direct), abs=1e-3
    )
    with pytest.raises(InvalidArgument):
        await backend.score("", "x")


async def test_bad_inputs_are_typed_errors(backend: LocalBackend) -> None:
    with pytest.raises(InvalidArgument, match="empty"):
        await backend.complete(LLMRequest(messages=(Message("user", ""),), raw_prompt=True))
    with pytest.raises(InvalidArgument):
        await backend.complete(LLMRequest(messages=()))
    with pytest.raises(RequestTooLarge):
        await backend.complete(ask("the agent " * 400))
    with pytest.raises(InvalidArgument, match="max_tokens"):
        await backend.complete(ask("hi", max_tokens=10**6))
    with pytest.raises(InvalidArgument, match="top_p"):
        await backend.complete(ask("hi", top_p=0.0))
    assert (await backend.complete(ask("still fine", max_tokens=3))).usage.completion_tokens


async def test_cancelling_a_call_frees_its_state(tiny_path: Path) -> None:
    b = LocalBackend(str(tiny_path), max_batch=2, prefix_cache=False, ignore_eos=True)
    try:
        tasks = [
            asyncio.create_task(b.complete(ask(f"long {i}", max_tokens=400))) for i in range(3)
        ]
        while (await b.stats()).generated_tokens < 6:
            await asyncio.sleep(0.01)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for _ in range(100):
            stats = await b.stats()
            if not (stats.running or stats.waiting):
                break
            await asyncio.sleep(0.01)
        assert (stats.running, stats.waiting, stats.rows_in_use, stats.store_bytes) == (0, 0, 0, 0)
        assert (await b.complete(ask("after", max_tokens=2))).usage.completion_tokens == 2
    finally:
        await b.aclose()


async def test_closed_backend_refuses(tiny_path: Path) -> None:
    b = LocalBackend(str(tiny_path))
    await b.aclose()
    with pytest.raises(Exception, match="closed"):
        await b.complete(ask("hi"))


def test_unknown_model_paths(tmp_path: Path) -> None:
    with pytest.raises(UnknownModel):
        create_backend(f"hf:{tmp_path / 'nothing-here'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UnknownModel):
        create_backend(f"hf:{tmp_path / 'empty'}")
    with pytest.raises(InvalidArgument):
        create_backend(f"hf:{tmp_path}?no_such_option=1")


def test_tool_calls_in_the_text_become_tool_calls() -> None:
    tools = (ToolSpec("add", "Add two numbers.", {"type": "object"}),)
    request = ask("add 1 and 2", tools=tools)
    text = 'I will add. {"tool": "add", "arguments": {"a": 1, "b": 2}}'
    gen = Generation(1, (1, 2), (3, 4), text, "stop")
    response = to_response(request, 2, gen, "m")
    assert response.finish_reason == "tool_calls"
    (call,) = response.message.tool_calls
    assert (call.name, call.arguments) == ("add", '{"a": 1, "b": 2}')
    assert response.text == "I will add."
    broken = Generation(1, (1,), (3,), '{"tool": "add", "arguments": {"a": 1,', "length")
    kept = to_response(request, 1, broken)
    assert kept.message.tool_calls == () and kept.text == broken.text  # the agent sees it
    plain = to_response(ask("no tools"), 1, gen)
    assert plain.message.tool_calls == () and plain.text == text


async def test_counting_never_refuses(backend: LocalBackend) -> None:
    # The context manager counts messages one by one, empty assistant turns included.
    lone = LLMRequest(messages=(Message("assistant", ""),))
    assert backend.count_prompt_tokens(lone) > 0
    assert backend.count_prompt_tokens(LLMRequest(messages=())) == 0
    raw = LLMRequest(messages=(Message("user", ""),), raw_prompt=True)
    assert backend.count_prompt_tokens(raw) == 0


async def test_a_failed_step_fails_its_calls_not_the_engine(tiny_path: Path) -> None:
    from llmagentos.errors import BackendError

    b = LocalBackend(str(tiny_path))
    model = b.runner.core.model
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("out of memory, say")
        return model(*args, **kwargs)

    b.runner.core.model = flaky
    try:
        with pytest.raises(BackendError, match="out of memory"):
            await b.complete(ask("first", max_tokens=4))
        answer = await b.complete(ask("second", max_tokens=4))
        assert answer.usage.completion_tokens >= 1
        stats = await b.stats()
        assert (stats.running, stats.waiting) == (0, 0)
    finally:
        await b.aclose()


async def test_interrupt_and_resume_gives_the_same_tokens(tiny_path: Path) -> None:
    b = LocalBackend(str(tiny_path), ignore_eos=True)  # long enough to interrupt for sure
    try:
        request = ask("a long story about agents", max_tokens=300)
        whole = await b.complete(request)
        handle = await b.start(request)
        async for event in handle.events():
            if event.token_ids:
                break
        snap = await b.snapshot(handle)
        handle.cancel()
        assert 1 <= len(snap.token_ids) < 300
        resumed = await b.resume(snap)
        result = None
        async for event in resumed.events():
            result = event.result or result
        assert isinstance(result, Generation)
        assert result.text == whole.text and len(result.token_ids) == 300
        with pytest.raises(InvalidArgument):
            await b.snapshot(resumed)  # finished
    finally:
        await b.aclose()


async def test_one_row_serves_calls_that_share_a_finished_calls_prefix(tiny_path: Path) -> None:
    # The finished call stays parked in the only row; the next calls share its system
    # prompt, so they copy the prefix through the store instead of waiting forever.
    b = LocalBackend(str(tiny_path), max_batch=1, ignore_eos=True, policy="fifo")
    try:
        system = Message("system", "You are an agent with tools. " * 12)
        reqs = [
            LLMRequest(messages=(system, Message("user", f"task {i}")), max_tokens=12 if i else 30)
            for i in range(3)
        ]
        first = await b.complete(reqs[0])
        rest = await asyncio.wait_for(asyncio.gather(*(b.complete(r) for r in reqs[1:])), 60)
        assert [r.usage.completion_tokens for r in (first, *rest)] == [30, 12, 12]
        for r, out in zip(reqs[1:], rest, strict=True):
            assert out.text == expected(b, r)[1]
        assert (await b.stats()).cached_tokens > 0  # the shared prefix was reused, not recomputed
    finally:
        await b.aclose()
