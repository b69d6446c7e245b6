"""Typed records: frozen, slotted dataclasses and their JSON codec.

Everything that crosses the syscall boundary, and everything the journal stores, is a
record declared with `@record`. The codec turns records into plain JSON values and back,
so a syscall and its result can be written to SQLite and replayed after a crash.

Encoding rules: a record becomes `{"$t": "<TypeName>", field: value, ...}`; bytes become
`{"$b": "<base64>"}`; tuples and lists become JSON arrays and come back as tuples where the
field is declared as a tuple. Anything else must already be JSON (str, int, float, bool,
None, dicts with string keys, lists).
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
import typing
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_REGISTRY: dict[str, type[Any]] = {}
_TUPLE_FIELDS: dict[type[Any], frozenset[str]] = {}


@typing.dataclass_transform(frozen_default=True)
def record(cls: type[T]) -> type[T]:
    """Declare a frozen, slotted record type and register it with the codec."""
    dc: type[T] = dataclasses.dataclass(frozen=True, slots=True)(cls)
    name = dc.__name__
    if name in _REGISTRY and _REGISTRY[name].__module__ != dc.__module__:
        raise TypeError(f"record name {name!r} is already registered by {_REGISTRY[name]}")
    _REGISTRY[name] = dc
    return dc


def registered(name: str) -> type[Any]:
    """Return the record type registered under `name`."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown record type {name!r}") from None


def _tuple_fields(cls: type[Any]) -> frozenset[str]:
    cached = _TUPLE_FIELDS.get(cls)
    if cached is not None:
        return cached
    hints = typing.get_type_hints(cls)
    names = set()
    for f in dataclasses.fields(cls):
        hint = hints.get(f.name)
        if _is_tuple_hint(hint):
            names.add(f.name)
    result = frozenset(names)
    _TUPLE_FIELDS[cls] = result
    return result


def _is_tuple_hint(hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin is tuple or hint is tuple:
        return True
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return any(_is_tuple_hint(a) for a in typing.get_args(hint))
    return False


def encode(value: Any) -> Any:
    """Turn a record (or a JSON value holding records) into plain JSON values."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {"$t": type(value).__name__}
        for f in dataclasses.fields(value):
            out[f.name] = encode(getattr(value, f.name))
        return out
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (bytes, bytearray)):
        return {"$b": base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(f"cannot encode {type(value).__name__} into a record")


def decode(data: Any) -> Any:
    """Inverse of `encode`."""
    if isinstance(data, list):
        return [decode(v) for v in data]
    if isinstance(data, dict):
        if "$t" in data:
            cls = registered(data["$t"])
            tuples = _tuple_fields(cls)
            kwargs: dict[str, Any] = {}
            for k, v in data.items():
                if k == "$t":
                    continue
                dv = decode(v)
                if k in tuples and isinstance(dv, list):
                    dv = tuple(dv)
                kwargs[k] = dv
            return _construct(cls, kwargs)
        if "$b" in data and len(data) == 1:
            return base64.b64decode(data["$b"])
        return {k: decode(v) for k, v in data.items()}
    return data


def _construct(cls: type[Any], kwargs: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    for name, value in list(kwargs.items()):
        hint = hints.get(name)
        if isinstance(hint, type) and issubclass(hint, enum.Enum) and not isinstance(value, hint):
            kwargs[name] = hint(value)
    return cls(**kwargs)


def dumps(value: Any) -> str:
    """Encode to a compact JSON string."""
    return json.dumps(encode(value), separators=(",", ":"), ensure_ascii=False)


def loads(text: str | bytes) -> Any:
    """Decode a JSON string produced by `dumps`."""
    return decode(json.loads(text))


def replace(obj: T, **changes: Any) -> T:
    """`dataclasses.replace` for records, typed."""
    return dataclasses.replace(obj, **changes)  # type: ignore[type-var]


Factory = Callable[..., Any]
