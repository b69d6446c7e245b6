"""`llmagentos demo`: the main job — several agents at work on one kernel, offline.

What runs (all as kernel processes, every effect a journaled system call):
- a *coordinator* spawns worker agents with narrowed capabilities and collects their
  answers through its mailbox;
- each *worker* is a ReAct agent: the model picks the calculator tool, the kernel checks the
  call against the worker's capabilities, runs it, and the model turns the observation into
  an answer; the worker remembers the fact and messages it to the coordinator;
- a *desk* agent written in the seed's synchronous `act()` style answers questions in a
  worker thread, calling the model through `LLM(...).generate_text`;
- a *monitor* subscribes to the `progress` topic and keeps a log;
- the coordinator publishes its report through a tool that the policy marks "ask": the call
  waits, durably, until an operator approves it (here an auto-approver stands in for the
  person; with `llmagentos approvals` a real one can).

The model is the scripted offline model from `llmagentos.testing` (a rule-following double,
not a language model); later issues replace it with the built-in trained model.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from llmagentos.access import Policy, Rule
from llmagentos.kernel.config import KernelConfig
from llmagentos.kernel.context import ProcessContext
from llmagentos.kernel.kernel import Kernel
from llmagentos.kernel.syscalls import Capabilities
from llmagentos.llm.types import LLMRequest, Message
from llmagentos.sdk.agent import Agent
from llmagentos.sdk.llm import LLM
from llmagentos.sdk.react import ReActAgent
from llmagentos.testing import FunctionModel
from llmagentos.tools import calculator, tool

TASKS = [
    ("12 boxes of 24 apples", "12 * 24"),
    ("a 15% tip on 84 dollars", "84 * 0.15"),
    ("the area of a 7.5 by 4 room", "7.5 * 4"),
    ("seconds in a day", "24 * 60 * 60"),
    ("the average of 17, 23 and 38", "(17 + 23 + 38) / 3"),
    ("2 to the power 16", "2 ** 16"),
    ("a 1200 budget split 8 ways", "1200 / 8"),
    ("the perimeter of a 13 by 21 field", "2 * (13 + 21)"),
]


async def scripted_answer(messages: tuple[Message, ...], request: LLMRequest) -> str:
    """The offline stand-in for a model: follows the ReAct format by rule."""
    await asyncio.sleep(0.05)  # a model takes time; this keeps the live table readable
    last = messages[-1]
    if last.role == "tool":
        return json.dumps({"answer": last.content})
    task = re.search(r"Compute (.+?) as `(.+?)`", last.content)
    if task:
        return json.dumps({"tool": "calculator", "arguments": {"expression": task.group(2)}})
    question = last.content.strip().rstrip("?")
    return f"Thanks for asking about {question.lower()}: our desk answers within one day."


@tool(side_effects=True)
def publish_report(title: str, body: str) -> str:
    """Publish a report to the team (needs an operator's approval)."""
    return f"published {title!r} ({len(body)} characters)"


async def worker(ctx: ProcessContext, label: str, expression: str, coordinator: str) -> str:
    agent = ReActAgent(ctx, ["calculator"], max_steps=4)
    result = await agent.solve(f"Compute {label} as `{expression}`.")
    answer = result.answer or "no answer"
    await ctx.remember(f"{label} = {answer}", {"task": label})
    await ctx.publish("progress", f"{ctx.name} solved {label}")
    await ctx.send(coordinator, {"label": label, "answer": answer, "steps": len(result.steps)})
    return answer


class Desk(Agent):
    """A customer desk in the seed's style: `act(observation) -> dict`, blocking code."""

    model = LLM("scripted")

    def act(self, observation: dict[str, Any]) -> dict[str, Any]:
        return {"text": self.model.generate_text(observation["text"], max_length=60)}


async def monitor(ctx: ProcessContext, expected: int) -> int:
    await ctx.subscribe("progress")
    seen = 0
    while seen < expected:
        env = await ctx.receive(timeout=60, topic="progress")
        if env is None:
            break
        seen += 1
        ctx.log(f"progress: {env.payload}")
    return seen


async def coordinator(ctx: ProcessContext, workers: int) -> dict[str, Any]:
    tasks = [TASKS[i % len(TASKS)] for i in range(workers)]
    worker_caps = Capabilities(tools=("calculator",), max_tool_calls=4, max_tokens=4000)
    for i, (label, expression) in enumerate(tasks):
        await ctx.spawn(
            worker,
            {"label": label, "expression": expression, "coordinator": ctx.name},
            name=f"worker-{i}",
            capabilities=worker_caps,
        )
    answers = []
    for _ in tasks:
        env = await ctx.receive(timeout=60)
        if env is None:
            break
        answers.append(env.payload)
    lines = [f"- {a['label']}: {a['answer']}" for a in sorted(answers, key=lambda a: a["label"])]
    body = "\n".join(lines)
    await ctx.write_file("report.md", "# Results\n" + body + "\n")
    published = await ctx.tool("publish_report", title="Results", body=body)
    return {"answers": answers, "published": published.as_observation()}


async def auto_approver(kernel: Kernel, stop: asyncio.Event) -> int:
    """Stands in for a person at `llmagentos approvals`: approves what the demo asks."""
    approved = 0
    while not stop.is_set():
        for pending in kernel.approvals.list("pending"):
            kernel.approvals.decide(pending.id, True, by="demo-operator", note="looks fine")
            approved += 1
        await asyncio.sleep(0.1)
    return approved


def _expected(expression: str) -> float:
    return float(calculator(expression))


async def run_demo(state_dir: str, workers: int, console: Console | None) -> dict[str, Any]:
    """Run the demo; returns a summary (also printed when `console` is given)."""
    from llmagentos.cli.runner import watch

    shutil.rmtree(state_dir, ignore_errors=True)
    policy = Policy(
        [
            Rule(
                "ask",
                kinds=("tool",),
                targets=("publish_report",),
                reason="publishing needs an operator",
            )
        ]
    )
    kernel = Kernel(
        KernelConfig(state_dir=state_dir),
        policy=policy,
        models={"scripted": FunctionModel(scripted_answer, name="scripted")},
        tools=[calculator, publish_report],
    )
    async with kernel:
        stop = asyncio.Event()
        approver = asyncio.create_task(auto_approver(kernel, stop))
        mon = await kernel.spawn(monitor, {"expected": workers}, name="monitor")
        desk = await kernel.spawn(
            Desk, {"inputs": ["Where is my order?", "Can I get a refund?"]}, name="desk"
        )
        coord = await kernel.spawn(coordinator, {"workers": workers}, name="coordinator")
        everything = asyncio.ensure_future(
            asyncio.gather(*(kernel.wait(p) for p in (mon, desk, coord)))
        )
        await watch(kernel, everything, console, title="llmagentos demo")
        statuses = {s.pid: s for s in everything.result()}
        stop.set()
        approved = await approver
        summary = _summary(kernel, statuses[coord].result, statuses[desk].result, approved)
    if console is not None:
        _print_summary(console, kernel, summary, state_dir)
    return summary


def _summary(
    kernel: Kernel, coord: dict[str, Any], desk: list[dict[str, Any]], approved: int
) -> dict[str, Any]:
    answers = coord["answers"]
    correct = sum(
        1 for a in answers if abs(float(a["answer"]) - _expected(dict(TASKS)[a["label"]])) < 1e-9
    )
    journal_rows = kernel.db.query("SELECT count(*) FROM journal")[0][0]
    audit_rows = len(kernel.audit.query(limit=100000))
    return {
        "workers": len(answers),
        "correct": correct,
        "published": coord["published"],
        "desk": [d["text"] for d in desk],
        "approvals": approved,
        "journal_entries": journal_rows,
        "audit_decisions": audit_rows,
        "processes": [
            {
                "pid": p.pid,
                "name": p.name,
                "state": p.state,
                "tokens": p.usage.tokens,
                "llm_calls": p.usage.llm_calls,
                "tool_calls": p.usage.tool_calls,
                "syscalls": p.usage.syscalls,
            }
            for p in kernel.ps()
        ],
    }


def _print_summary(console: Console, kernel: Kernel, s: dict[str, Any], state_dir: str) -> None:
    table = Table(title="what each process used", title_justify="left")
    for col in ("pid", "name", "state", "tokens", "llm_calls", "tool_calls", "syscalls"):
        table.add_column(col)
    for p in s["processes"]:
        table.add_row(
            *(
                str(p[c])
                for c in ("pid", "name", "state", "tokens", "llm_calls", "tool_calls", "syscalls")
            )
        )
    console.print(table)
    console.print(
        f"[bold]{s['correct']}/{s['workers']}[/] worker answers correct;"
        f" report: {s['published']}; operator approvals: {s['approvals']}"
    )
    for line in s["desk"]:
        console.print(f"desk: {line}")
    console.print(
        f"{s['journal_entries']} syscalls journaled, {s['audit_decisions']} access"
        f" decisions audited — state in {Path(state_dir).resolve()}"
        f" (try `llmagentos ps -a --state-dir {state_dir}`)"
    )
