"""Processes, messages and tools: a lead agent fans questions out to ReAct workers.

Run with `llmagentos run examples/research_team.py:lead --model scripted=...` or simply
`python examples/research_team.py` (boots its own kernel on an offline scripted model).
"""

from __future__ import annotations

import asyncio
import json

from llmagentos import Capabilities, Kernel, KernelConfig, ProcessContext
from llmagentos.sdk.react import ReActAgent
from llmagentos.testing import FunctionModel
from llmagentos.tools import calculator


def rule_model(messages, request) -> str:
    last = messages[-1]
    if last.role == "tool":
        return json.dumps({"answer": last.content})
    expression = last.content.split("compute:", 1)[-1].strip()
    return json.dumps({"tool": "calculator", "arguments": {"expression": expression}})


async def worker(ctx: ProcessContext, question: str) -> str | None:
    result = await ReActAgent(ctx, ["calculator"]).solve(f"compute: {question}")
    await ctx.send("lead", {"question": question, "answer": result.answer})
    return result.answer


async def lead(ctx: ProcessContext, questions: list[str]) -> dict[str, str]:
    caps = Capabilities(tools=("calculator",), max_tool_calls=3)
    for q in questions:
        await ctx.spawn(worker, {"question": q}, capabilities=caps)
    answers = {}
    for _ in questions:
        env = await ctx.receive(timeout=30)
        answers[env.payload["question"]] = env.payload["answer"]
    return answers


async def main(state_dir: str = ".llmagentos/examples-team") -> dict[str, str]:
    kernel = Kernel(
        KernelConfig(state_dir=state_dir, recover=False),
        models={"rules": FunctionModel(rule_model)},
        tools=[calculator],
    )
    async with kernel:
        status = await kernel.run(lead, {"questions": ["6 * 7", "2 ** 10", "100 / 8"]}, name="lead")
    return status.result


if __name__ == "__main__":
    print(asyncio.run(main()))
