"""The local core under the kernel: real agents calling `ctx.chat` on an `hf:` model."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from conftest import greedy_reference

from llmagentos import Kernel, KernelConfig
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
