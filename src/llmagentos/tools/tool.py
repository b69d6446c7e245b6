"""`Tool` and the `@tool` decorator: a Python function described for a model."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypeVar, overload

from llmagentos.errors import InvalidArgument
from llmagentos.llm.types import ToolSpec
from llmagentos.tools.docstrings import parse_docstring
from llmagentos.tools.schema import ArgumentSchema

P = ParamSpec("P")
R = TypeVar("R")

# What OpenAI-style APIs accept as a function name; stricter backends accept a subset.
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Tool(Generic[P, R]):
    """A function offered to agents, with its JSON schema and how it may be run.

    Calling a `Tool` calls the plain function. The registry runs it differently: it
    validates JSON arguments, injects the `ToolContext`, and applies the limits below.

    - `timeout_s`: the longest a call may take (None: the registry's default).
    - `concurrency`: at most this many calls of this tool at once (None: no limit).
    - `exclusive`: run only while no other tool in the registry is running.
    - `side_effects`: False when running it twice does no harm (pure or read-only),
      so a caller may retry it freely; True tools should dedupe with the idempotency key.
    """

    def __init__(
        self,
        fn: Callable[P, R],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout_s: float | None = None,
        concurrency: int | None = None,
        exclusive: bool = False,
        side_effects: bool = True,
    ) -> None:
        if isinstance(fn, Tool):  # re-wrapping: start from the plain function
            fn = fn.fn
        tool_name = name or getattr(fn, "__name__", None)
        if not tool_name or not _NAME.match(tool_name):
            raise InvalidArgument(
                f"tool name {tool_name!r} must be 1-64 letters, digits, '_' or '-'"
            )
        if concurrency is not None and concurrency < 1:
            raise InvalidArgument(f"tool {tool_name!r}: concurrency must be at least 1")
        if timeout_s is not None and timeout_s <= 0:
            raise InvalidArgument(f"tool {tool_name!r}: timeout_s must be positive")
        doc = parse_docstring(inspect.getdoc(fn))
        self.fn: Callable[P, R] = fn
        self.name: str = tool_name
        self.description = doc.description if description is None else description
        self.arguments = ArgumentSchema.from_function(fn, name=tool_name, descriptions=doc.params)
        self.timeout_s = timeout_s
        self.concurrency = concurrency
        self.exclusive = exclusive
        self.side_effects = side_effects
        self.is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            getattr(fn, "__call__", None)  # noqa: B004 - an object with `async def __call__`
        )
        functools.update_wrapper(self, fn)

    @property
    def parameters(self) -> dict[str, Any]:
        """The JSON schema of the arguments."""
        return self.arguments.json_schema

    @property
    def spec(self) -> ToolSpec:
        """What a model is shown: name, description and argument schema."""
        return ToolSpec(name=self.name, description=self.description, parameters=self.parameters)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Tool {self.name}>"


@overload
def tool(fn: Callable[P, R], /) -> Tool[P, R]: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    timeout_s: float | None = None,
    concurrency: int | None = None,
    exclusive: bool = False,
    side_effects: bool = True,
) -> Callable[[Callable[P, R]], Tool[P, R]]: ...


def tool(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout_s: float | None = None,
    concurrency: int | None = None,
    exclusive: bool = False,
    side_effects: bool = True,
) -> Tool[P, R] | Callable[[Callable[P, R]], Tool[P, R]]:
    """Make a function a `Tool`; use as `@tool` or `@tool(name=..., timeout_s=...)`.

    The description is the docstring's first paragraph, argument descriptions come from
    its "Args:" section or ":param x:" fields, and the schema from the type hints.
    """

    def wrap(f: Callable[P, R]) -> Tool[P, R]:
        return Tool(
            f,
            name=name,
            description=description,
            timeout_s=timeout_s,
            concurrency=concurrency,
            exclusive=exclusive,
            side_effects=side_effects,
        )

    return wrap if fn is None else wrap(fn)
