"""`record` as the type checker should see it: a dataclass transform.

`llmagentos.records.record` builds frozen dataclasses at runtime but does not carry
`typing.dataclass_transform`, so mypy cannot see the `__init__` of records declared with
it. This shim gives the tool manager's own records their constructors until
`records.record` carries the marker itself; at runtime it *is* `records.record`.
Records declared in other packages (`ToolResult`, `ToolSpec`) are built from a
`dict[str, Any]` of fields, which type-checks whether or not their package has a shim.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from llmagentos import records

T = TypeVar("T")

if TYPE_CHECKING:
    from typing import dataclass_transform

    @dataclass_transform(frozen_default=True)
    def record(cls: type[T]) -> type[T]: ...

else:
    record = records.record

__all__ = ["record"]
