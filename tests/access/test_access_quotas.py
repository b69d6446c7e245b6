"""Quotas: each budget refuses the call that would go past it."""

from __future__ import annotations

import pytest

from llmagentos.access import check_quota, remaining_tokens
from llmagentos.errors import QuotaExceeded
from llmagentos.kernel.syscalls import Capabilities, KVPut, LLMCall, Syscall, ToolInvoke
from llmagentos.llm.types import LLMRequest, Message

LLM = LLMCall(LLMRequest(messages=(Message("user", "hi"),)))
TOOL = ToolInvoke("calc", {})
PUT = KVPut("k", 1)
CAPS = Capabilities(max_tokens=100, max_tool_calls=3, max_wall_s=10.0, max_syscalls=50)


def usage(
    tokens: int = 0, tools: int = 0, syscalls: int = 0, elapsed: float = 0.0
) -> dict[str, float]:
    return {
        "used_tokens": tokens,
        "used_tool_calls": tools,
        "used_syscalls": syscalls,
        "elapsed_s": elapsed,
    }


def test_within_budget_passes() -> None:
    for call in (LLM, TOOL, PUT):
        check_quota(CAPS, **usage(99, 2, 49, 9.9), call=call)
    check_quota(Capabilities(), **usage(10**9, 10**9, 10**9, 1e9), call=TOOL)


def test_tokens_refuse_model_calls_only() -> None:
    with pytest.raises(QuotaExceeded, match=r"max_tokens is 100 .* used 100 tokens") as info:
        check_quota(CAPS, **usage(tokens=100), call=LLM)
    assert info.value.details == {"field": "max_tokens", "limit": 100}
    check_quota(CAPS, **usage(tokens=100), call=TOOL)


def test_tool_calls_refuse_tool_invocations_only() -> None:
    with pytest.raises(QuotaExceeded, match=r"max_tool_calls is 3 .* 3 tool calls"):
        check_quota(CAPS, **usage(tools=3), call=TOOL)
    check_quota(CAPS, **usage(tools=3), call=LLM)


@pytest.mark.parametrize("call", [LLM, TOOL, PUT])
def test_syscalls_and_wall_time_refuse_everything(call: Syscall) -> None:
    with pytest.raises(QuotaExceeded, match="max_syscalls is 50"):
        check_quota(CAPS, **usage(syscalls=50), call=call)
    with pytest.raises(QuotaExceeded, match=r"max_wall_s is 10.0 .* 10.500s"):
        check_quota(CAPS, **usage(elapsed=10.5), call=call)


def test_remaining_tokens() -> None:
    assert remaining_tokens(CAPS, 30) == 70
    assert remaining_tokens(CAPS, 300) == 0
    assert remaining_tokens(Capabilities(), 300) is None
