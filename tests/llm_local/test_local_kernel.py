"""The local core under the kernel: real agents calling `ctx.chat` on an `hf:` model."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from local_reference import greedy_reference

from llmagentos import Kernel, KernelConfig
from llmagentos.errors import LLMAgentOSError
from llmagentos.llm import LLMRequest, Message
from llmagentos.llm.local import LocalBackend
from llmagentos.llm.local.chat import render


async def agent(ctx: Any, question: str, turns: int) -> list[str]:
    """Asks, then asks again with its own history: the second turn reuses its KV."""
    history: list[dict[str, str]] = [{"role": "user", "content": question}]
    answers = []
    for turn in range(turns):
        reply = await ctx.chat(history, model="tiny", max_tokens=8)
        answers.append(reply.text)
        history += [
            {"role": "assistant", "content": reply.text},
            {"role": "user", "content": f"observation {turn}: ok"},
        ]
    return answers


def replay(backend: LocalBackend, question: str, turns: int) -> list[str]:
    """What `agent` must get: greedy generation turn by turn, outside any kernel."""
    tok, eos = backend.tokenizer, backend.loaded.eos_ids[0]
    messages = [Message("user", question)]
    out = []
    for turn in range(turns):
        prompt = render(tok, LLMRequest(messages=tuple(messages), max_tokens=8))
        ids = greedy_reference(backend.loaded.model, prompt, 8, eos)
        text = tok.decode([t for t in ids if t != eos], skip_special_tokens=True)
        out.append(text)
        messages += [Message("assistant", text), Message("user", f"observation {turn}: ok")]
    return out


async def test_agents_on_the_kernel_get_greedy_answers(tiny_path: Path, tmp_path: Path) -> None:
    config = KernelConfig(state_dir=tmp_path / "state", scheduler="las")
    questions = [f"agent {i} asks about the weather in city {i}" for i in range(5)]
    async with Kernel(config, models={"tiny": f"hf:{tiny_path}?max_batch=3"}) as kernel:
        backend = kernel.models["tiny"]
        assert isinstance(backend, LocalBackend)
        pids = [
            await kernel.spawn(agent, {"question": q, "turns": 2}, priority=i % 2)
            for i, q in enumerate(questions)
        ]
        statuses = await asyncio.gather(*(kernel.wait(p, timeout=60) for p in pids))
        stats = await backend.stats()
    for q, status in zip(questions, statuses, strict=True):
        assert status.state == "done", status.error
        assert status.result == replay(backend, q, 2)
    assert stats.cached_tokens > 0  # second turns reused the first turns' KV


async def test_streaming_through_the_kernel(tiny_path: Path, tmp_path: Path) -> None:
    async def streamer(ctx: Any) -> dict[str, Any]:
        pieces = [c.delta async for c in ctx.stream("tell me a story", max_tokens=10)]
        whole = await ctx.chat("tell me a story", max_tokens=10)
        return {"streamed": "".join(pieces), "whole": whole.text}

    config = KernelConfig(state_dir=tmp_path / "state")
    async with Kernel(config, models={"tiny": f"hf:{tiny_path}"}) as kernel:
        status = await kernel.run(streamer)
    assert status.state == "done", status.error
    assert status.result["streamed"] == status.result["whole"]


async def ask(ctx: Any) -> dict[str, Any]:
    reply = await ctx.chat("hello there", max_tokens=4)
    return {"model": reply.model, "tokens": reply.usage.completion_tokens}


async def test_a_kernel_with_no_models_loads_the_fallback(tiny_path: Path, tmp_path: Path) -> None:
    config = KernelConfig(state_dir=tmp_path / "state", fallback_model=f"hf:{tiny_path}")
    async with Kernel(config) as kernel:
        status = await kernel.run(ask)
        assert status.state == "done", status.error
        assert status.result["tokens"] > 0
        assert list(kernel.models) == [f"hf:{tiny_path}"]  # loaded once, on first use


async def test_without_a_fallback_a_model_call_fails_clearly(tmp_path: Path) -> None:
    config = KernelConfig(state_dir=tmp_path / "state", fallback_model=None)
    async with Kernel(config) as kernel:
        status = await kernel.run(ask)
    assert status.state == "failed"
    assert "UnknownModel" in (status.error or "") and "known: none" in (status.error or "")


async def test_a_process_allowed_one_model_uses_it_by_default(
    tiny_path: Path, tmp_path: Path
) -> None:
    from llmagentos import Capabilities
    from llmagentos.testing import ScriptedModel

    config = KernelConfig(state_dir=tmp_path / "state")
    models = {"scripted": ScriptedModel(["from the default"]), "tiny": f"hf:{tiny_path}"}
    async with Kernel(config, models=models) as kernel:
        assert kernel.default_model == "scripted"
        mine = await kernel.run(ask, capabilities=Capabilities(models=("tiny",)))
        other = await kernel.run(ask)
    assert mine.state == "done", mine.error
    assert other.state == "done", other.error
    assert mine.result["model"] != other.result["model"]
    assert other.result["tokens"] > 0


async def test_killing_agents_mid_call_frees_their_state(tiny_path: Path, tmp_path: Path) -> None:
    async def talker(ctx: Any, question: str, max_tokens: int) -> str:
        reply = await ctx.chat(question, model="tiny", max_tokens=max_tokens)
        return reply.text

    config = KernelConfig(state_dir=tmp_path / "state", scheduler="las")
    spec = f"hf:{tiny_path}?max_batch=4&prefix_cache=false&ignore_eos=true"
    async with Kernel(config, models={"tiny": spec}) as kernel:
        backend = kernel.models["tiny"]
        assert isinstance(backend, LocalBackend)
        doomed = [
            await kernel.spawn(talker, {"question": f"long story {i}", "max_tokens": 400})
            for i in range(3)
        ]
        for _ in range(2000):
            stats = await backend.stats()
            if stats.running == 3 and stats.generated_tokens >= 6:
                break
            await asyncio.sleep(0.01)
        assert stats.running == 3 and stats.kv_bytes > 0
        assert all([await kernel.kill(pid) for pid in doomed])
        for _ in range(200):
            stats = await backend.stats()
            if not (stats.running or stats.waiting or stats.rows_in_use):
                break
            await asyncio.sleep(0.01)
        assert (stats.running, stats.waiting, stats.rows_in_use, stats.store_bytes) == (0, 0, 0, 0)
        assert [(await kernel.wait(pid)).state for pid in doomed] == ["killed"] * 3
        # The engine goes on serving, and exactly: greedy tokens for a newcomer.
        status = await kernel.run(talker, {"question": "after the kill", "max_tokens": 6})
    assert status.state == "done", status.error
    tok = backend.tokenizer
    prompt = render(tok, LLMRequest(messages=(Message("user", "after the kill"),), max_tokens=6))
    ids = greedy_reference(backend.loaded.model, prompt, 6)  # ignore_eos: always 6 tokens
    assert status.result == tok.decode(ids, skip_special_tokens=True)


async def test_bad_requests_reach_the_agent_as_typed_errors(
    tiny_path: Path, tmp_path: Path
) -> None:
    async def prober(ctx: Any) -> dict[str, str]:
        cases: dict[str, Any] = {
            "empty prompt": lambda: ctx.generate("", model="tiny", max_tokens=4),
            "no messages": lambda: ctx.chat([], model="tiny"),
            "longer than the window": lambda: ctx.chat("the agent " * 400, model="tiny"),
            "absurd max_tokens": lambda: ctx.chat("hi", model="tiny", max_tokens=10**9),
            "zero max_tokens": lambda: ctx.chat("hi", model="tiny", max_tokens=0),
        }
        seen = {}
        for name, make_call in cases.items():
            try:
                await make_call()
                seen[name] = "no error"
            except LLMAgentOSError as e:
                seen[name] = type(e).__name__
        seen["then"] = (await ctx.chat("still here", model="tiny", max_tokens=3)).finish_reason
        return seen

    config = KernelConfig(state_dir=tmp_path / "state")
    async with Kernel(config, models={"tiny": f"hf:{tiny_path}?ignore_eos=true"}) as kernel:
        backend = kernel.models["tiny"]
        assert isinstance(backend, LocalBackend)
        status = await kernel.run(prober)
        stats = await backend.stats()
    assert status.state == "done", status.error
    assert status.result == {
        "empty prompt": "InvalidArgument",
        "no messages": "InvalidArgument",
        "longer than the window": "RequestTooLarge",
        "absurd max_tokens": "InvalidArgument",
        "zero max_tokens": "InvalidArgument",
        "then": "length",
    }
    assert (stats.running, stats.waiting) == (0, 0)
