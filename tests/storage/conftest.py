"""Fixtures for storage tests: a bare database, and a booted kernel on a fresh directory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmagentos import Kernel, KernelConfig
from llmagentos.storage.db import Database
from llmagentos.storage.managers import MANAGER_SCHEMAS
from llmagentos.storage.schema import CORE_SCHEMA
from llmagentos.testing import FunctionModel


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "os.db").open([CORE_SCHEMA, *MANAGER_SCHEMAS])
    yield database
    database.close()


@pytest.fixture
async def make_kernel(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    kernels: list[Kernel] = []
    counter = iter(range(1000))

    async def make(**options: Any) -> Kernel:
        state = options.pop("state_dir", tmp_path / f"state{next(counter)}")
        model = FunctionModel(lambda messages, request: "ok")
        k = Kernel(KernelConfig(state_dir=state, **options), models={"m": model})
        await k.boot()
        kernels.append(k)
        return k

    yield make
    for k in kernels:
        await k.shutdown()
