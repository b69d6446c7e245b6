"""`Agent` and `AsyncAgent`: the seed's act() classes, run over inputs or on stdin."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmagentos import LLM, Agent, AsyncAgent, Kernel, Runtime
from llmagentos.testing import FunctionModel


class Echo(Agent):
    """The seed's customer-service agent, on the echo model."""

    model = LLM("fn")

    def act(self, observation: dict[str, Any]) -> dict[str, Any]:
        return {"text": self.model.generate_text(observation["text"], max_length=20)}


class Greeter(Agent):
    """An agent with constructor state and a setup hook."""

    def __init__(self, greeting: str = "hi") -> None:
        super().__init__()
        self.greeting = greeting
        self.setups = 0

    def setup(self) -> None:
        self.setups += 1

    def act(self, observation: dict[str, Any]) -> dict[str, Any]:
        return {"text": f"{self.greeting} {observation['text']}", "setups": self.setups}


class AsyncEcho(AsyncAgent):
    async def act(self, observation: dict[str, Any]) -> dict[str, Any]:
        assert self.ctx is not None
        reply = await LLM("fn").achat(observation["text"])
        await self.ctx.kv_put("last", observation["text"])
        return {"text": reply.text, "pid": self.ctx.pid}


class Broken(Agent):
    def act(self, observation: dict[str, Any]) -> dict[str, Any]:
        raise ValueError(f"cannot handle {observation['text']!r}")


def test_agent_run_over_inputs(runtime: Runtime, echo_model: FunctionModel) -> None:
    replies = Echo().run(["Where is my order?", {"text": "Refund?", "user": 7}, 42])
    assert replies == [
        {"text": "echo: Where is my order?"},
        {"text": "echo: Refund?"},
        {"text": "echo: 42"},  # a non-dict input becomes {"text": str(input)}
    ]
    assert echo_model.last_request.max_tokens == 20
    [proc] = [p for p in runtime.kernel.ps() if p.name == "Echo"]
    assert proc.state == "done" and proc.usage.llm_calls == 3
    # The calls are the agent process's, not the shell's.
    assert not [p for p in runtime.kernel.ps() if p.name == "shell"]


def test_agent_instances_keep_their_state_and_name(runtime: Runtime) -> None:
    agent = Greeter("yo")
    agent.name = "front-desk"
    assert agent.run(["a", "b"]) == [
        {"text": "yo a", "setups": 1},
        {"text": "yo b", "setups": 1},
    ]
    assert [p.name for p in runtime.kernel.ps()] == ["front-desk"]
    assert Agent(name="named").name == "named"
    # Spawning the class by reference afterwards gets a fresh instance, not `agent`.
    status = runtime.call(runtime.kernel.run(Greeter, {"inputs": ["c"]}))
    assert status.result == [{"text": "hi c", "setups": 1}]


def test_async_agent_run(runtime: Runtime, echo_model: FunctionModel) -> None:
    replies = AsyncEcho().run(["one", "two"])
    assert [r["text"] for r in replies] == ["echo: one", "echo: two"]
    [proc] = runtime.kernel.ps()
    assert proc.name == "AsyncEcho" and replies[0]["pid"] == proc.pid
    assert proc.usage.llm_calls == 2 and proc.usage.syscalls == 4


def test_an_agent_whose_act_raises_makes_run_raise(runtime: Runtime) -> None:
    with pytest.raises(RuntimeError) as info:
        Broken().run(["x"])
    message = str(info.value)
    assert "agent Broken ended failed" in message
    assert "ValueError: cannot handle 'x'" in message


def test_an_abstract_agent_says_to_override_act(runtime: Runtime) -> None:
    with pytest.raises(RuntimeError, match=r"override act\(self, observation\)"):
        Agent().run(["x"])


async def test_agent_classes_spawn_as_programs(make_kernel: Callable[..., Any]) -> None:
    kernel: Kernel = await make_kernel(models={"fn": FunctionModel(lambda m, r: "hey")})
    status = await kernel.run(AsyncEcho, {"inputs": ["q"]})
    assert status.result == [{"text": "hey", "pid": status.pid}]

    # Without inputs an agent serves its mailbox until it is told to stop.
    async def client(ctx: Any, agent: int) -> Any:
        first = await ctx.request(agent, {"text": "a"}, timeout=10)
        second = await ctx.request(agent, "b", timeout=10)
        await ctx.send(agent, {"type": "stop"})
        return [first.payload, second.payload]

    pid = await kernel.spawn(Greeter, {"idle_timeout": 10})
    status = await kernel.run(client, {"agent": pid})
    assert [r["text"] for r in status.result] == ["hi a", "hi b"]
    assert (await kernel.wait(pid, timeout=10)).state == "done"


async def test_run_inside_a_sync_program_makes_a_child_on_the_same_kernel(
    make_kernel: Callable[..., Any],
) -> None:
    kernel: Kernel = await make_kernel(models={"fn": FunctionModel(lambda m, r: "from kernel")})

    def program(ctx: Any) -> Any:
        first = Greeter("yo").run(["a"])
        try:
            Greeter().run()
        except RuntimeError as exc:
            refused = str(exc)
        return {"first": first, "refused": refused}

    status = await kernel.run(program)
    assert status.state == "done", status.error
    assert status.result["first"] == [{"text": "yo a", "setups": 1}]
    assert "without inputs chats on stdin" in status.result["refused"]
    parent, child = kernel.ps()
    assert child.name == "Greeter" and child.parent == parent.pid
    assert parent.usage.syscalls == 2  # spawn and wait, journaled like any call


async def test_run_inside_an_async_program_says_to_spawn(
    make_kernel: Callable[..., Any],
) -> None:
    kernel: Kernel = await make_kernel()

    async def program(ctx: Any) -> str:
        try:
            Greeter().run(["a"])
        except RuntimeError as exc:
            return str(exc)
        return "ran"

    status = await kernel.run(program)
    assert "this is an async program: use `pid = await ctx.spawn(Greeter" in status.result
    assert len(kernel.ps()) == 1


CHAT_SCRIPT = textwrap.dedent(
    """
    import sys

    from llmagentos import LLM, Agent, Runtime
    from llmagentos.sdk.runtime import set_default_runtime
    from llmagentos.testing import FunctionModel

    model = LLM("fn")


    class Echo(Agent):
        def act(self, observation):
            if observation["text"] == "boom":
                raise ValueError("boom")
            if observation["text"] == "raw":
                return {"other": 1}
            return {"text": model.generate_text(observation["text"])}


    runtime = Runtime(
        state_dir=sys.argv[1],
        models={"fn": FunctionModel(lambda m, r: "echo: " + m[-1].content)},
    )
    set_default_runtime(runtime.start())
    try:
        Echo().run()
    finally:
        runtime.stop()
    print("bye")
    """
)


def chat(tmp_path: Path, stdin: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "chat.py"
    script.write_text(CHAT_SCRIPT)
    return subprocess.run(
        [sys.executable, str(script), str(tmp_path / "state")],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_agent_run_without_inputs_chats_on_stdin(tmp_path: Path) -> None:
    out = chat(tmp_path, "hello\n\nworld\nraw\n")
    assert out.returncode == 0, out.stderr
    # Piped stdin: no prompt, blank lines skipped, one reply line per input line.
    assert out.stdout == 'echo: hello\necho: world\n{"other": 1}\nbye\n'


def test_a_failing_act_ends_the_chat_with_the_error(tmp_path: Path) -> None:
    out = chat(tmp_path, "hi\nboom\nnever read\n")
    assert out.returncode == 1
    assert out.stdout == "echo: hi\n"
    assert "RuntimeError: agent Echo ended failed: ValueError: boom" in out.stderr
