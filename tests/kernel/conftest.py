"""Fixtures for kernel tests: a booted kernel on a fresh state directory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from llmagentos import Kernel, KernelConfig, tool
from llmagentos.testing import FunctionModel


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def fail(message: str) -> str:
    """Always raises."""
    raise ValueError(message)


def echo_model() -> FunctionModel:
    """A model that answers `echo: <last user message>`."""

    def answer(messages: Any, request: Any) -> str:
        return "echo: " + messages[-1].content

    return FunctionModel(answer)


@pytest.fixture
async def make_kernel(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    kernels: list[Kernel] = []
    counter = iter(range(1000))

    async def make(**options: Any) -> Kernel:
        models = options.pop("models", {"echo": echo_model()})
        tools = options.pop("tools", [add, fail])
        policy = options.pop("policy", None)
        state = options.pop("state_dir", tmp_path / f"state{next(counter)}")
        k = Kernel(
            KernelConfig(state_dir=state, **options), models=models, tools=tools, policy=policy
        )
        await k.boot()
        kernels.append(k)
        return k

    yield make
    for k in kernels:
        await k.shutdown()


@pytest.fixture
async def kernel(make_kernel: Callable[..., Any]) -> Kernel:
    k: Kernel = await make_kernel()
    return k
