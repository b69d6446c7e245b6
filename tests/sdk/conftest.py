"""Fixtures for SDK tests: a runtime on a background thread, and booted kernels."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmagentos import Kernel, KernelConfig, Runtime
from llmagentos.sdk.runtime import set_default_runtime
from llmagentos.testing import FunctionModel


def echo(messages: Any, request: Any) -> str:
    return "echo: " + messages[-1].content


@pytest.fixture
def echo_model() -> FunctionModel:
    """A model that answers `echo: <last message>` and records every request."""
    return FunctionModel(echo, name="fn")


@pytest.fixture
def runtime(tmp_path: Path, echo_model: FunctionModel) -> Iterator[Runtime]:
    """The default runtime for the test: `LLM(...)` and `Agent.run` outside a kernel use it."""
    rt = Runtime(state_dir=tmp_path / "rt", models={"fn": echo_model}).start()
    set_default_runtime(rt)
    try:
        yield rt
    finally:
        set_default_runtime(None)
        rt.stop()


@pytest.fixture
async def make_kernel(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """`await make_kernel(models=..., tools=...)`: a booted kernel on its own state dir."""
    kernels: list[Kernel] = []

    async def make(**options: Any) -> Kernel:
        k = Kernel(
            KernelConfig(state_dir=tmp_path / f"k{len(kernels)}", recover=False),
            models=options.pop("models", {}),
            tools=options.pop("tools", []),
            **options,
        )
        await k.boot()
        kernels.append(k)
        return k

    yield make
    for k in kernels:
        await k.shutdown()
