"""Environments through the kernel: every step a journaled, access-checked tool syscall."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("gymnasium")

from llmagentos import Capabilities, Kernel, KernelConfig, ProcessContext
from llmagentos.envs.client import EnvClient
from llmagentos.envs.tools import EnvRegistry, env_tools
from llmagentos.errors import InvalidState, PermissionDenied
from llmagentos.testing import NullModel

MAZE = {"layout": "S..\n##.\nG..", "observation": "index"}
PATH = ["right", "right", "down", "down", "left", "left"]


def kernel(state: Path, tools: list[Any] | None = None) -> Kernel:
    return Kernel(
        KernelConfig(state_dir=state), models={"null": NullModel()}, tools=tools or env_tools()
    )


async def walk(ctx: ProcessContext) -> dict[str, Any]:
    first = await ctx.tool("env_reset", env_id="m", config=MAZE)
    rewards = []
    for move in PATH:
        step = await ctx.tool("env_step", env_id="m", action=move)
        rewards.append(step.output["reward"])
    picture = await ctx.tool("env_render", env_id="m")
    late = await ctx.tool("env_step", env_id="m", action="up")
    return {
        "first": first.output,
        "rewards": rewards,
        "terminated": step.output["terminated"],
        "picture": picture.output,
        "late": late.error_type,
    }


async def test_an_agent_walks_a_maze_through_tool_syscalls(tmp_path: Path) -> None:
    async with kernel(tmp_path / "s") as k:
        status = await k.run(walk)
    out = status.result
    assert status.state == "done", status.error
    assert out["first"]["observation"] == 0 and out["first"]["actions"] == 4
    assert out["first"]["info"]["optimal_steps"] == 6
    assert out["rewards"][-1] == 1.0 and out["terminated"]
    assert out["picture"] == "S..\n##.\nA..\n"
    assert out["late"] == "InvalidState"  # the episode is over until the next reset
    with sqlite3.connect(tmp_path / "s" / "os.db") as db:
        calls = [json.loads(c)["name"] for (c,) in db.execute("SELECT call FROM journal")]
    assert calls == ["env_reset", *["env_step"] * 6, "env_render", "env_step"]


async def intruder(ctx: ProcessContext, env_id: str) -> str | None:
    result = await ctx.tool("env_step", env_id=env_id, action=0)
    return result.error_type


async def owner(ctx: ProcessContext) -> list[str | None]:
    await ctx.tool("env_reset", env_id="mine", config=MAZE)
    pid = await ctx.spawn(intruder, {"env_id": "mine"})
    other = (await ctx.wait(pid)).result
    missing = (await ctx.tool("env_step", env_id="nope", action=0)).error_type
    bad = (await ctx.tool("env_reset", env_id="x", config={"size": 4})).error_type
    foreign = (await ctx.tool("env_reset", env_id="y", env="CartPole-v1")).error_type
    return [other, missing, bad, foreign]


async def test_environments_belong_to_their_process_and_errors_are_typed(tmp_path: Path) -> None:
    async with kernel(tmp_path / "s") as k:
        status = await k.run(owner)
    assert status.result == [
        "PermissionDenied",
        "UnknownEnvironment",
        "InvalidMaze",
        "PermissionDenied",
    ]


async def no_env_rights(ctx: ProcessContext) -> str:
    try:
        await ctx.tool("env_reset", env_id="m", config=MAZE)
    except PermissionDenied as exc:
        return exc.message
    return "allowed"


async def test_capabilities_govern_environment_use(tmp_path: Path) -> None:
    async with kernel(tmp_path / "s") as k:
        status = await k.run(no_env_rights, capabilities=Capabilities(tools=("calculator",)))
    assert "may not use tool 'env_reset'" in status.result


def test_registry_limits_and_closing() -> None:
    from llmagentos.tools import ToolContext

    reg = EnvRegistry(max_envs=1)
    ctx = ToolContext(pid=1, call_id="1:0", idempotency_key="1:0")
    reg.reset(ctx, "a", config=MAZE)
    with pytest.raises(InvalidState, match="1 environments are alive"):
        reg.reset(ToolContext(pid=1, call_id="1:1", idempotency_key="1:1"), "b", config=MAZE)
    assert reg.close(ctx, "a") and not reg.close(ctx, "a") and len(reg) == 0


def test_a_repeated_call_with_the_same_key_does_not_step_twice() -> None:
    from llmagentos.tools import ToolContext

    reg = EnvRegistry()
    reg.reset(ToolContext(pid=1, call_id="1:0", idempotency_key="1:0"), "a", config=MAZE)
    again = ToolContext(pid=1, call_id="1:1", idempotency_key="1:1")
    first = reg.step(again, "a", "right")
    assert reg.step(again, "a", "right") == first  # a re-run after a crash: same answer
    assert (
        reg.step(ToolContext(pid=1, call_id="1:2", idempotency_key="1:2"), "a", 3)["observation"]
        == 2
    )


async def resumable(ctx: ProcessContext) -> list[int]:
    env = EnvClient(ctx, "m", config=MAZE)
    await env.reset()
    seen = [(await env.step(m)).observation for m in PATH[:3]]
    await ctx.sleep(1.0)  # the first kernel stops here; the next one replays up to this point
    seen += [(await env.step(m)).observation for m in PATH[3:]]
    return seen


async def test_a_process_goes_on_in_a_rebuilt_environment_after_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "s"
    async with kernel(state) as first:
        pid = await first.spawn("test_envs_tools:resumable")
        for _ in range(200):
            if first.get(pid).info().usage.syscalls >= 5:
                break
            await asyncio.sleep(0.01)
    # A new kernel with fresh tools: the environment is gone, the journal is not.
    async with kernel(state) as second:
        status = await asyncio.wait_for(second.wait(pid), timeout=30)
    assert status.state == "done", status.error
    assert status.result == [1, 2, 5, 8, 7, 6]
