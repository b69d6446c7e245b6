"""Fixtures for context tests: a booted kernel (hash embedder unless asked) on a fresh directory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from llmagentos import Kernel, KernelConfig
from llmagentos.memory import MemoryConfig
from llmagentos.testing import FunctionModel


@pytest.fixture
async def make_kernel(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    kernels: list[Kernel] = []
    counter = iter(range(1000))

    async def make(**options: Any) -> Kernel:
        state = options.pop("state_dir", tmp_path / f"state{next(counter)}")
        options.setdefault("memory", MemoryConfig(embedder="hash"))
        models = options.pop("models", {"m": FunctionModel(lambda messages, request: "ok")})
        k = Kernel(KernelConfig(state_dir=state, **options), models=models)
        await k.boot()
        kernels.append(k)
        return k

    yield make
    for k in kernels:
        await k.shutdown()
