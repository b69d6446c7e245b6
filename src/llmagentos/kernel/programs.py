"""Finding the code a process runs: a program reference is a string so it survives a crash.

Forms of a reference:
- `package.module:function` (or `:Class` for an `Agent` subclass),
- `path/to/file.py:function` (`:main` when omitted),
- a name registered with `ProgramRegistry.register` (apps register themselves this way).

What a program is:
- an `async def main(ctx, **args)` coroutine function: runs as a task on the kernel loop;
- a plain `def main(ctx, **args)`: runs in a worker thread, `ctx` is the sync bridge;
- an object with `__llmagentos_program__` (the SDK's agents): adapted by the SDK.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmagentos.errors import InvalidArgument, NotFound

ProgramFn = Callable[..., Any]


def reference_of(obj: Any) -> str | None:
    """The importable `module:qualname` of a function or class, if it has one."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not module or not qualname or "<locals>" in qualname or module == "__main__":
        main = sys.modules.get("__main__")
        path = getattr(main, "__file__", None)
        if module == "__main__" and path and qualname and "<locals>" not in qualname:
            return f"{Path(path).resolve()}:{qualname}"
        return None
    return f"{module}:{qualname}"


def _load_file(path: Path) -> Any:
    name = "llmagentos_program_" + str(abs(hash(str(path.resolve()))))
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise InvalidArgument(f"cannot load a program from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    # Programs loaded from a file may guard their demo with `if __name__ == "__main__"`.
    spec.loader.exec_module(module)
    return module


def _resolve_attr(module: Any, qualname: str, ref: str) -> Any:
    obj = module
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise NotFound(f"program {ref!r}: {part!r} not found") from None
    return obj


class ProgramRegistry:
    """Named programs plus resolution of `module:attr` and `file.py:attr` references."""

    def __init__(self) -> None:
        self._named: dict[str, ProgramFn] = {}

    def register(self, name: str, program: ProgramFn) -> None:
        self._named[name] = program

    def names(self) -> list[str]:
        return sorted(self._named)

    def resolve(self, ref: str) -> ProgramFn:
        """Return the callable a reference names, or raise a clear error."""
        if not ref or not isinstance(ref, str):
            raise InvalidArgument("a program reference must be a non-empty string")
        if ref in self._named:
            return self._named[ref]
        target, _, attr = ref.rpartition(":")
        if not target:
            target, attr = ref, "main"
        if target.endswith(".py") or "/" in target:
            path = Path(target)
            if not path.exists():
                raise NotFound(f"program file {target!r} does not exist")
            return _resolve_attr(_load_file(path), attr or "main", ref)  # type: ignore[no-any-return]
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            known = ", ".join(self.names()) or "none registered"
            raise NotFound(
                f"program {ref!r} not found ({exc}); use module:function, file.py:function,"
                f" or a registered name ({known})"
            ) from None
        return _resolve_attr(module, attr or "main", ref)  # type: ignore[no-any-return]


def is_async_program(fn: ProgramFn) -> bool:
    return inspect.iscoroutinefunction(fn)
