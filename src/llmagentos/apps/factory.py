"""What an app's tool references may name: tools, lists of tools, or tool factories.

A factory builds tools for one run, given the app's `AppData` (its name and a private
data directory under the state directory). It is how an app ships state its tools need:
the customer desk's order database is created from bundled SQL on first use, and each
run of the maze solver gets its own environment registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmagentos.apps.errors import InvalidManifest
from llmagentos.errors import LLMAgentOSError
from llmagentos.kernel.programs import ProgramRegistry
from llmagentos.tools import Tool


@dataclass(frozen=True, slots=True)
class AppData:
    """An app's identity and private data directory (created on demand)."""

    name: str
    data_dir: Path

    def path(self, name: str) -> Path:
        """A file in the data directory (the directory is created first)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir / name


@dataclass(frozen=True, slots=True)
class ToolFactory:
    """Tools built per run for an app's data (`build(app) -> tools`)."""

    build: Callable[[AppData], Iterable[Tool[..., Any]]]


def tool_factory(build: Callable[[AppData], Iterable[Tool[..., Any]]]) -> ToolFactory:
    """Mark `build(app)` as a tool factory an app manifest may reference."""
    return ToolFactory(build)


def resolve_tools(refs: Iterable[str], app: AppData) -> list[Tool[..., Any]]:
    """The tools `refs` name (`module:attr`), factories built for `app`."""
    registry = ProgramRegistry()
    tools: list[Tool[..., Any]] = []
    for ref in refs:
        try:
            found = registry.resolve(ref)
        except LLMAgentOSError as exc:
            raise InvalidManifest(
                f"app {app.name!r}: tool reference {ref!r}: {exc.message}"
            ) from None
        items: Any = list(found.build(app)) if isinstance(found, ToolFactory) else found
        for item in items if isinstance(items, list | tuple) else [items]:
            if not isinstance(item, Tool):
                raise InvalidManifest(
                    f"app {app.name!r}: tool reference {ref!r} gives a {type(item).__name__},"
                    " not a Tool (decorate it with @tool)"
                )
            tools.append(item)
    return tools
