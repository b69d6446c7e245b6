"""Quotas: refuse a call once a process has spent a budget in its `Capabilities`.

The kernel keeps the counters (tokens, tool calls, syscalls, wall time) and asks
`check_quota` before each call. A budget is spent when usage has *reached* it, so a
process with `max_tool_calls=3` gets exactly three tool calls. Token usage is only known
after a model answers, so the last model call may overshoot `max_tokens`;
`remaining_tokens` lets the kernel clamp a request's `max_tokens` to prevent that.
"""

from __future__ import annotations

from typing import NoReturn

from llmagentos.errors import QuotaExceeded
from llmagentos.kernel.syscalls import Capabilities, LLMCall, Syscall, ToolInvoke

__all__ = ["check_quota", "remaining_tokens"]


def check_quota(
    caps: Capabilities,
    used_tokens: int,
    used_tool_calls: int,
    used_syscalls: int,
    elapsed_s: float,
    call: Syscall,
) -> None:
    """Raise `QuotaExceeded` when `call` would go past one of the budgets in `caps`."""
    if caps.max_syscalls is not None and used_syscalls >= caps.max_syscalls:
        _exceeded("max_syscalls", f"{used_syscalls} system calls", caps.max_syscalls)
    if caps.max_wall_s is not None and elapsed_s >= caps.max_wall_s:
        _exceeded("max_wall_s", f"{elapsed_s:.3f}s of wall time", caps.max_wall_s)
    # Tokens are spent by model calls only: a process out of tokens may still save its
    # work, message its parent or exit cleanly.
    if isinstance(call, LLMCall) and caps.max_tokens is not None and used_tokens >= caps.max_tokens:
        _exceeded("max_tokens", f"{used_tokens} tokens", caps.max_tokens)
    if (
        isinstance(call, ToolInvoke)
        and caps.max_tool_calls is not None
        and used_tool_calls >= caps.max_tool_calls
    ):
        _exceeded("max_tool_calls", f"{used_tool_calls} tool calls", caps.max_tool_calls)


def remaining_tokens(caps: Capabilities, used_tokens: int) -> int | None:
    """Tokens left under `max_tokens` (None: no budget), never negative."""
    if caps.max_tokens is None:
        return None
    return max(0, caps.max_tokens - used_tokens)


def _exceeded(field: str, used: str, limit: float) -> NoReturn:
    raise QuotaExceeded(
        f"quota exceeded: {field} is {limit} and the process has used {used}",
        field=field,
        limit=limit,
    )
