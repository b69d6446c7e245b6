"""Fixtures for the tool manager's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from llmagentos.tools import ToolContext, ToolRegistry


@pytest.fixture
def ctx() -> ToolContext:
    return ToolContext(pid=7, call_id="call-1", idempotency_key="7:1", namespace="ns")


@pytest.fixture
async def registry() -> AsyncIterator[ToolRegistry]:
    reg = ToolRegistry()
    yield reg
    await reg.aclose()
