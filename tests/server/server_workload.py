"""Programs, tools and a fixture harness for the server tests: a real server on loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from llmagentos import Kernel, KernelConfig, tool
from llmagentos.access import Policy, Rule
from llmagentos.kernel.context import ProcessContext
from llmagentos.llm.types import LLMRequest, LLMResponse, Message
from llmagentos.memory import MemoryConfig
from llmagentos.server import ServerConfig, ServerThread, create_app
from llmagentos.testing import FunctionModel, LatencyModel, text_response, tool_call_response

# -- programs the tests spawn through the API -------------------------------------------


async def chatty(ctx: ProcessContext, rounds: int = 3, delay: float = 0.02) -> dict[str, Any]:
    """Chats `rounds` times, logging each answer."""
    texts = []
    for i in range(rounds):
        reply = await ctx.chat(f"round {i} of the chatty agent", max_tokens=6)
        ctx.log(f"round {i}: {reply.text}")
        texts.append(reply.text)
        if delay:
            await ctx.sleep(delay)
    return {"rounds": rounds, "last": texts[-1] if texts else None}


async def echo(ctx: ProcessContext, limit: int = 10) -> int:
    """Replies to each message with its payload under `echo`, until `stop` or `limit`."""
    served = 0
    while served < limit:
        env = await ctx.receive(timeout=20)
        if env is None or env.payload == "stop":
            break
        await ctx.reply(env, {"echo": env.payload})
        await ctx.send(env.sender, {"also": env.payload})
        served += 1
    return served


async def forever(ctx: ProcessContext, delay: float = 0.05) -> None:
    """Sleeps in small steps until killed (a target for kill, suspend and resume)."""
    for i in range(10_000):
        await ctx.sleep(delay)
        if i % 20 == 0:
            ctx.log(f"tick {i}")


async def reporter(ctx: ProcessContext, title: str = "weekly") -> Any:
    """Calls a tool the policy marks "ask": waits for a person's decision."""
    result = await ctx.tool("publish_report", title=title)
    return {"ok": result.ok, "output": result.output, "error": result.error_type}


async def listener(ctx: ProcessContext, topic: str = "news") -> Any:
    await ctx.subscribe(topic)
    env = await ctx.receive(timeout=20, topic=topic)
    return None if env is None else env.payload


async def failing(ctx: ProcessContext) -> None:
    ctx.log("about to fail", "error")
    raise ValueError("this agent fails on purpose")


@tool(side_effects=True)
def publish_report(title: str) -> str:
    """Publish a report (needs an operator's approval)."""
    return f"published {title}"


def scripted_answer(messages: tuple[Message, ...], request: LLMRequest) -> str | LLMResponse:
    """A model double for the OpenAI tests: calls the first tool offered, reports a tool's
    result, and otherwise echoes the last message (so stop sequences have text to cut)."""
    last = messages[-1]
    if last.role == "tool":
        return text_response(f"the tool said {last.content}")
    if request.tools:
        return tool_call_response(request.tools[0].name, {"city": "Paris"}, id="call_1")
    return f"echo {last.content}"


PROGRAMS = {
    "chatty": chatty,
    "echo": echo,
    "forever": forever,
    "reporter": reporter,
    "listener": listener,
    "failing": failing,
}
POLICY = Policy([Rule("ask", kinds=("tool",), targets=("publish_report",), reason="publishing")])


# -- the harness ---------------------------------------------------------------------------


@dataclass
class Served:
    """A running server: its URL, the kernel behind it, and an admin key."""

    thread: ServerThread
    kernel: Kernel
    app: Any
    admin: str
    model: LatencyModel
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.thread.url

    @property
    def state(self) -> Any:
        return self.app.state.server

    def key(self, name: str, scopes: list[str], **options: Any) -> str:
        """Create an API key (through the key store, as an operator would) and return it."""
        _, token = self.state.keys.create(name, scopes, **options)
        return str(token)

    def client(self, token: str | None = None, **options: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.admin}"} if token != "" else {}
        c = httpx.Client(base_url=self.url, headers=headers, timeout=options.pop("timeout", 15))
        self.clients.append(c)
        return c

    def call(self, coro: Any) -> Any:
        """Run a coroutine on the server's loop (where the kernel lives)."""
        return self.thread.call(coro)


def start_server(
    state_dir: Path,
    *,
    config: ServerConfig | None = None,
    model: LatencyModel | None = None,
    models: dict[str, Any] | None = None,
    **kernel_options: Any,
) -> Served:
    """`models`: more models, placed first (the first is the kernel's default)."""
    model = model or LatencyModel(ttft_s=0.005, tokens_per_s=2000, output_tokens=8)
    _fast_memory(kernel_options)
    kernel = Kernel(
        KernelConfig(state_dir=state_dir, **kernel_options),
        models={
            **(models or {}),
            "latency": model,
            "scripted": FunctionModel(scripted_answer, name="scripted"),
        },
        tools=[publish_report],
        policy=POLICY,
    )
    for name, program in PROGRAMS.items():
        kernel.register_program(name, program)
    app = create_app(kernel, config or ServerConfig(access_log=False, sample_interval_s=0.2))
    thread = ServerThread(app)
    thread.start()
    taken = {k.name for k in app.state.server.keys.list()}
    name = next(n for n in ("admin", *(f"admin{i}" for i in range(2, 100))) if n not in taken)
    _, admin = app.state.server.keys.create(name, ["admin"])
    return Served(thread, kernel, app, admin, model)


def _fast_memory(options: dict[str, Any]) -> None:
    """Long-term memory with the hashed embedder: no embedding model to load in tests."""
    options.setdefault("memory", MemoryConfig(embedder="hash"))


def stop_server(served: Served) -> None:
    for c in served.clients:
        c.close()
    served.thread.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Any, timeout_s: float = 10.0, interval_s: float = 0.02) -> Any:
    """Poll `predicate` until it returns something truthy; fail after `timeout_s`."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s")
        time.sleep(interval_s)


def served_iter(state_dir: Path, **options: Any) -> Iterator[Served]:
    served = start_server(state_dir, **options)
    try:
        yield served
    finally:
        stop_server(served)


__all__ = ["Served", "free_port", "served_iter", "start_server", "wait_for"]
