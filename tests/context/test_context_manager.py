"""The context manager through the kernel: long conversations on a small window."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from llmagentos import Kernel
from llmagentos.context import ContextConfig
from llmagentos.kernel.handlers import estimate_tokens
from llmagentos.kernel.process import ProcessState
from llmagentos.llm.types import LLMRequest, Message
from llmagentos.testing import FunctionModel, tool_call_response

SYSTEM = "You are a helpful assistant. Answer briefly."
FACTS = {"password": "bluefalcon42", "car": "a red Volvo", "dentist": "on Tuesday"}


def reader(messages: tuple[Message, ...], request: LLMRequest) -> str:
    """A double that reads: it answers "What is my X?" from what its prompt says."""
    if messages[0].content.startswith("You keep the running summary"):
        facts = re.findall(r"my (\w+) is ([^.;\n]+)", messages[-1].content)
        return "; ".join(dict.fromkeys(f"my {k} is {v}" for k, v in facts)) or "small talk"
    asked = re.match(r"What is my (\w+)\?", messages[-1].content)
    if asked is None:
        return "Noted."
    for message in messages[:-1]:
        found = re.search(rf"my {asked.group(1)} is ([^.;\n]+)", message.content)
        if found:
            return found.group(1)
    return "I don't know"


def model(window: int) -> FunctionModel:
    return FunctionModel(reader, context_window=window)


async def chatter(ctx: Any, filler: int, wait: bool = False) -> list[str]:
    script = [f"Please note: my {k} is {v}." for k, v in FACTS.items()]
    script += [f"Tell me about topic number {i}, nothing important." for i in range(filler)]
    script += [f"What is my {k}?" for k in FACTS]
    messages: list[dict[str, str]] = []
    answers = []
    for n, text in enumerate(script):
        if wait and n == len(script) - len(FACTS):
            await ctx.receive(timeout=30)  # a restart happens here in one test
        messages.append({"role": "user", "content": text})
        reply = await ctx.chat(messages, system=SYSTEM, max_tokens=16)
        messages.append({"role": "assistant", "content": reply.text})
        answers.append(reply.text)
    return answers[-len(FACTS) :]


def agent_requests(double: FunctionModel) -> list[LLMRequest]:
    return [r for r in double.requests if r.messages[0].content == SYSTEM]


def assert_all_fit(double: FunctionModel, window: int) -> None:
    assert double.requests
    for request in double.requests:
        assert double.count_prompt_tokens(request) + request.max_tokens <= window
        assert estimate_tokens(request) < window


@pytest.mark.parametrize("strategy", ["summarize+recall", "recall", "summarize"])
async def test_facts_survive_a_long_conversation(
    make_kernel: Callable[..., Any], strategy: str
) -> None:
    window = 400
    double = model(window)
    kernel: Kernel = await make_kernel(
        models={"m": double}, context=ContextConfig(strategy=strategy)
    )
    status = await kernel.run(chatter, {"filler": 30})
    await kernel.context.settle()
    assert status.state == "done", status.error
    assert status.result == list(FACTS.values())
    assert_all_fit(double, window)
    sent = agent_requests(double)
    assert all(r.messages[0].content == SYSTEM for r in sent)  # the system prompt stays
    assert kernel.context.stats["fitted"] > 0 and kernel.context.stats["evicted"] > 0
    summaries = len(double.requests) - len(sent)
    assert (summaries > 0) == ("summarize" in strategy)
    rows = kernel.db.query(
        "SELECT count(*) FROM memories WHERE namespace = 'proc/chatter'"
        ' AND metadata LIKE \'%"kind": "context"%\''
    )
    assert rows[0][0] == kernel.context.stats["evicted"]  # each evicted message stored once


async def test_a_sliding_window_forgets(make_kernel: Callable[..., Any]) -> None:
    double = model(400)
    kernel: Kernel = await make_kernel(
        models={"m": double}, context=ContextConfig(strategy="sliding", evict_to_memory=False)
    )
    status = await kernel.run(chatter, {"filler": 30})
    assert status.result == ["I don't know"] * len(FACTS)
    assert len(agent_requests(double)) == len(double.requests)  # no summary calls
    assert kernel.db.query("SELECT count(*) FROM memories")[0][0] == 0


async def test_the_current_turn_and_a_pending_tool_exchange_are_pinned(
    make_kernel: Callable[..., Any],
) -> None:
    double = FunctionModel(lambda m, r: "done", context_window=300)
    kernel: Kernel = await make_kernel(models={"m": double})

    async def react(ctx: Any) -> Any:
        history: list[Any] = [Message(role="user", content="Find the report " + "x " * 30)]
        for i in range(12):
            history.append(tool_call_response("search", {"q": str(i)}, id=f"c{i}").message)
            history.append(
                Message(role="tool", content=f"result {i} " + "y " * 20, tool_call_id=f"c{i}")
            )
            await ctx.chat(history, system=SYSTEM, max_tokens=20)
        return len(history)

    status = await kernel.run(react)
    await kernel.context.settle()
    assert status.state == "done", status.error
    assert_all_fit(double, 300)
    last = agent_requests(double)[-1]
    roles = [m.role for m in last.messages]
    assert roles[0] == "system" and last.messages[0].content == SYSTEM
    assert any(m.content.startswith("Find the report") for m in last.messages)
    assert roles[-2:] == ["assistant", "tool"] and last.messages[-1].tool_call_id == "c11"
    for i, m in enumerate(last.messages):  # no result without its call
        if m.role == "tool":
            assert last.messages[i - 1].role in ("assistant", "tool")


async def test_an_over_long_turn_is_refused_and_never_sent(
    make_kernel: Callable[..., Any],
) -> None:
    double = model(100)
    kernel: Kernel = await make_kernel(models={"m": double})

    async def prog(ctx: Any) -> str:
        try:
            await ctx.chat("word " * 500, system=SYSTEM)
        except Exception as exc:
            return type(exc).__name__
        return "sent"

    assert (await kernel.run(prog)).result == "RequestTooLarge"
    assert double.requests == []
    assert kernel.context.stats["refused"] == 1


async def test_a_default_window_applies_to_backends_without_one(
    make_kernel: Callable[..., Any],
) -> None:
    double = FunctionModel(reader)  # declares no window
    kernel: Kernel = await make_kernel(
        models={"m": double}, context=ContextConfig(window=400, strategy="recall")
    )
    status = await kernel.run(chatter, {"filler": 30})
    assert status.result == list(FACTS.values())
    assert_all_fit(double, 400)


async def test_restart_reuses_summaries_and_stores_nothing_twice(
    make_kernel: Callable[..., Any],
) -> None:
    import asyncio

    double = model(400)
    kernel: Kernel = await make_kernel(models={"m": double})
    pid = await kernel.spawn(chatter, {"filler": 30, "wait": True})
    for _ in range(3000):
        proc = kernel.get(pid)
        if proc.state is ProcessState.WAITING and proc.seq == 34:  # 33 chats, then receive
            break
        await asyncio.sleep(0.01)
    await kernel.context.settle()
    stored = kernel.db.query("SELECT count(*) FROM memories")[0][0]
    summary = kernel.db.query("SELECT summary, covered FROM context_summaries")
    assert stored > 0 and summary and "bluefalcon42" in summary[0][0]
    state = kernel.config.state_dir
    await kernel.shutdown()

    again = model(400)
    restarted: Kernel = await make_kernel(state_dir=state, models={"m": again})

    async def poke(ctx: Any) -> None:
        await ctx.send(pid, "go")

    await restarted.run(poke)
    status = await restarted.wait(pid, timeout=60)
    await restarted.context.settle()
    assert status.result == list(FACTS.values())
    assert len(agent_requests(again)) == len(FACTS)  # the 33 replayed chats cost nothing
    recount = restarted.db.query(
        "SELECT count(*) FROM memories WHERE metadata LIKE '%\"index\": 1,%'"
    )
    assert recount[0][0] == 1  # the first evicted message is stored once, not once per run


async def test_summaries_run_below_the_process_and_are_paid_by_it(
    make_kernel: Callable[..., Any],
) -> None:
    double = model(400)
    kernel: Kernel = await make_kernel(models={"m": double})
    seen: list[tuple[str, int]] = []
    acquire = kernel.acquire

    async def spy(proc: Any, resource: str, est: int = 0) -> int:
        seen.append((proc.program, proc.priority))
        return await acquire(proc, resource, est)

    kernel.acquire = spy  # type: ignore[method-assign]
    pid = await kernel.spawn(chatter, {"filler": 30}, priority=5)
    status = await kernel.wait(pid)
    await kernel.context.settle()
    assert status.state == "done"
    summary_calls = [p for program, p in seen if program == "kernel:context"]
    assert summary_calls and all(p == 5 - 10 for p in summary_calls)
    used = kernel.get(pid).tree_tokens  # the agent's calls and its summaries
    assert used > sum(double.count_prompt_tokens(r) for r in agent_requests(double))
    assert kernel.context.stats["summary_tokens"] > 0


async def test_no_summary_when_the_budget_cannot_pay(make_kernel: Callable[..., Any]) -> None:
    from llmagentos import Capabilities

    double = model(400)
    kernel: Kernel = await make_kernel(models={"m": double})

    async def idle(ctx: Any) -> None:
        await ctx.receive(timeout=30)

    pid = await kernel.spawn(idle, capabilities=Capabilities(max_tokens=50))
    proc = kernel.get(pid)
    request = LLMRequest(messages=(Message(role="user", content="hi"),))
    big = LLMRequest(messages=(Message(role="user", content="word " * 100),), max_tokens=64)
    ctx = kernel.context
    assert await ctx.summarizer.call(proc, request, double, big) is None
    assert double.requests == [] and proc.tree_tokens == 0
    await kernel.kill(pid)


async def streamer(ctx: Any) -> list[str]:
    messages: list[dict[str, str]] = []
    for text in (
        [f"Please note: my {k} is {v}." for k, v in FACTS.items()]
        + [f"Tell me about topic number {i}, nothing important." for i in range(30)]
        + ["What is my password?"]
    ):
        messages.append({"role": "user", "content": text})
        chunks = [c.delta async for c in ctx.stream(messages, system=SYSTEM, max_tokens=16)]
        messages.append({"role": "assistant", "content": "".join(chunks)})
    return [messages[-1]["content"]]


async def test_streamed_calls_are_fitted_too(make_kernel: Callable[..., Any]) -> None:
    double = model(400)
    kernel: Kernel = await make_kernel(models={"m": double})
    status = await kernel.run(streamer)
    await kernel.context.settle()
    assert status.state == "done", status.error
    assert status.result == [FACTS["password"]]
    assert_all_fit(double, 400)


async def test_summary_tokens_are_accounted_and_survive_a_restart(
    make_kernel: Callable[..., Any],
) -> None:
    import asyncio

    async def parked(k: Kernel, pid: int) -> Any:
        for _ in range(3000):
            proc = k.get(pid)
            if proc.state is ProcessState.WAITING and proc.seq == 34:  # 33 chats, then receive
                return proc
            await asyncio.sleep(0.01)
        pytest.fail("the program did not reach its receive")

    kernel: Kernel = await make_kernel(models={"m": model(400)})
    pid = await kernel.spawn(chatter, {"filler": 30, "wait": True})
    await parked(kernel, pid)
    await kernel.context.settle()
    before = kernel.get(pid)
    spent, budget_used = before.summary_tokens, before.tree_tokens
    assert spent == kernel.context.stats["summary_tokens"] > 0
    assert before.info().usage.summary_tokens == spent
    state = kernel.config.state_dir
    await kernel.shutdown()

    restarted: Kernel = await make_kernel(state_dir=state, models={"m": model(400)})
    after = await parked(restarted, pid)
    assert after.restarts == 1
    assert after.summary_tokens == spent
    assert after.tree_tokens == budget_used  # replayed chats + the summaries' record
