"""Errors of the environments package (all part of the `llmagentos.errors` tree).

```
UserError
├── InvalidArgument
│   └── InvalidMaze           a layout that is malformed (shape, characters, S/G count, size)
│       └── UnsolvableMaze    well-formed, but no path leads from S to G
├── NotFound
│   └── UnknownEnvironment    no environment with that id (or it was lost with its kernel)
└── MissingExtra              an optional dependency is not installed (`pip install ...[envs]`)
```

Being `LLMAgentOSError`s, they travel through the journal and come back to agents as tool
observations (`ToolResult.error_type` names the class).
"""

from __future__ import annotations

from llmagentos.errors import InvalidArgument, NotFound, UserError


class InvalidMaze(InvalidArgument):
    """A maze layout or maze size that cannot be used."""

    code = "invalid_maze"


class UnsolvableMaze(InvalidMaze):
    """A well-formed maze whose goal cannot be reached from its start."""

    code = "unsolvable_maze"


class UnknownEnvironment(NotFound):
    """An environment id that names no live environment."""

    code = "unknown_environment"


class MissingExtra(UserError):
    """An optional dependency is missing; the message names the extra to install."""

    code = "missing_extra"


def require(module: str, extra: str) -> None:
    """Raise `MissingExtra` unless `module` can be imported."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingExtra(
            f"{module} is not installed; install it with `pip install 'llmagentos[{extra}]'`",
            module=module,
            extra=extra,
        )
