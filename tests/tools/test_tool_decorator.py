"""The `@tool` decorator and `Tool` objects."""

from __future__ import annotations

import asyncio

import pytest

from llmagentos.errors import InvalidArgument
from llmagentos.llm.types import ToolSpec
from llmagentos.tools import Tool, ToolContext, tool


@tool
def add(a: int, b: int = 1) -> int:
    """Add two integers.

    Args:
        a: The first.
        b: The second.
    """
    return a + b


@tool(name="fetch-page", timeout_s=2.5, concurrency=3, side_effects=False, description="Get it.")
async def fetch(url: str, ctx: ToolContext) -> str:
    """Ignored, because a description was given."""
    await asyncio.sleep(0)
    return f"{ctx.pid}:{url}"


def test_bare_decorator_keeps_the_function_callable() -> None:
    assert isinstance(add, Tool)
    assert add(2, b=3) == 5
    assert add.__name__ == "add" and add.__doc__ is not None
    assert (add.name, add.timeout_s, add.concurrency, add.exclusive, add.side_effects) == (
        "add",
        None,
        None,
        False,
        True,
    )
    assert not add.is_async


def test_spec_is_a_tool_spec_record() -> None:
    assert add.spec == ToolSpec(
        name="add",
        description="Add two integers.",
        parameters={
            "additionalProperties": False,
            "properties": {
                "a": {"description": "The first.", "type": "integer"},
                "b": {"default": 1, "description": "The second.", "type": "integer"},
            },
            "required": ["a"],
            "type": "object",
        },
    )


async def test_decorator_with_options(ctx: ToolContext) -> None:
    assert fetch.name == "fetch-page" and fetch.description == "Get it."
    assert (fetch.timeout_s, fetch.concurrency, fetch.side_effects) == (2.5, 3, False)
    assert fetch.is_async
    assert fetch.parameters["required"] == ["url"]
    assert await fetch("x", ctx) == "7:x"


def test_wrapping_a_tool_again_or_a_lambda_needs_care() -> None:
    again = Tool(add, name="add2", timeout_s=1)
    assert (again.name, again.fn, again.timeout_s, again(1)) == ("add2", add.fn, 1, 2)
    with pytest.raises(InvalidArgument, match="tool name '<lambda>'"):
        Tool(lambda: None)
    assert Tool(lambda: None, name="noop").parameters["properties"] == {}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": "has space"}, "must be 1-64 letters"),
        ({"name": "x" * 65}, "must be 1-64 letters"),
        ({"concurrency": 0}, "concurrency must be at least 1"),
        ({"timeout_s": 0}, "timeout_s must be positive"),
    ],
)
def test_bad_options_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        tool(**options)(add.fn)  # type: ignore[call-overload]


def test_async_callable_object_is_detected() -> None:
    class Pinger:
        async def __call__(self, host: str) -> str:
            return host

    t = Tool(Pinger(), name="ping")
    assert t.is_async and t.parameters["required"] == ["host"]


def test_partial_keeps_the_remaining_arguments() -> None:
    import functools

    def scale(x: float, factor: float) -> float:
        return x * factor

    t = Tool(functools.partial(scale, factor=2.0), name="double")
    assert t.parameters["required"] == ["x"]
    assert t(3.0) == 6.0
