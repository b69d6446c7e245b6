"""`builtin:tiny`, the shipped model, running agents through the kernel and the local core.

These are the checks behind "a fresh clone runs an agent offline with sensible in-domain
answers": a ReAct worker calls the calculator and answers with its result, and a seed-style
desk answers a customer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmagentos import Kernel, KernelConfig
from llmagentos.models import shipped_dir
from llmagentos.sdk.react import ReActAgent
from llmagentos.tools import calculator

pytest.importorskip("transformers")
pytestmark = pytest.mark.skipif(shipped_dir("tiny") is None, reason="builtin-tiny not shipped")


async def worker(ctx: Any, task: str) -> dict[str, Any]:
    result = await ReActAgent(ctx, ["calculator"], max_steps=3).solve(task)
    first = result.steps[0]
    return {
        "answer": result.answer,
        "steps": len(result.steps),
        "tools": [c.name for c in first.tool_calls],
        "arguments": [c.arguments for c in first.tool_calls],
        "observations": list(first.observations),
    }


async def desk(ctx: Any, question: str) -> str:
    reply = await ctx.chat(question, max_tokens=40)
    return str(reply.text)


async def test_agents_think_with_the_builtin_model_offline(tmp_path: Path) -> None:
    config = KernelConfig(state_dir=tmp_path / "state")
    async with Kernel(config, models={"tiny": "builtin:tiny"}, tools=[calculator]) as kernel:
        solved = await kernel.run(worker, {"task": "Compute 12 boxes of 24 apples as `12 * 24`."})
        # The protocol, end to end: a valid calculator call, then an answer that is the
        # tool's result. (Whether it copies the expression exactly is what the held-out
        # eval measures; today's model often does not: see docs/builtin_model.md.)
        assert solved.state == "done", solved.error
        out = solved.result
        assert out["steps"] == 2 and out["tools"] == ["calculator"]
        expression = json.loads(out["arguments"][0])["expression"]
        assert out["observations"] == [str(calculator(expression))]
        assert out["answer"] == out["observations"][0]
        reply = await kernel.run(desk, {"question": "Where is my order?"})
        assert reply.state == "done", reply.error
        assert "order number" in reply.result
