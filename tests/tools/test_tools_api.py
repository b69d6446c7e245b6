"""The public surface of `llmagentos.tools`, pinned."""

from __future__ import annotations

import llmagentos.tools as tools


def test_public_names() -> None:
    assert set(tools.__all__) == {
        "BUILTIN_TOOLS",
        "ArgumentSchema",
        "Docstring",
        "ReadWriteLock",
        "Sandbox",
        "SandboxResult",
        "SubprocessSandbox",
        "Tool",
        "ToolContext",
        "ToolRegistry",
        "calculator",
        "make_python_exec",
        "parse_docstring",
        "python_exec",
        "tool",
    }
    for name in tools.__all__:
        assert getattr(tools, name) is not None


def test_records_round_trip_through_the_codec() -> None:
    from llmagentos.records import dumps, loads

    ctx = tools.ToolContext(pid=1, call_id="c", idempotency_key="k", deadline=2.5, namespace="n")
    assert loads(dumps(ctx)) == ctx
    result = tools.SandboxResult(exit_code=0, stdout="o", stderr="", truncated=True)
    assert loads(dumps(result)) == result
