"""`record` as the type checker should see it: a dataclass transform.

`llmagentos.records.record` builds frozen dataclasses at runtime but does not carry
`typing.dataclass_transform`, so mypy cannot see the generated `__init__` of the LLM
records. At runtime this *is* `records.record`; drop it once `record` carries the marker.
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
