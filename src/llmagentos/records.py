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
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_REGISTRY: dict[str, type[Any]] = {}


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


class _Shape:
    """What the codec needs to know about a record type, computed once per type."""

    __slots__ = ("defaults", "enums", "names", "tuples")

    def __init__(self, cls: type[Any]) -> None:
        hints = typing.get_type_hints(cls)
        fields = dataclasses.fields(cls)
        self.names = tuple(f.name for f in fields)
        # Plain defaults (None, numbers, strings, empty tuples) are left out of the JSON:
        # journal rows get shorter and faster to write; `decode` restores them.
        self.defaults = {
            f.name: f.default
            for f in fields
            if f.default is not dataclasses.MISSING
            and type(f.default) in (*_PLAIN, tuple)
            and f.default in (None, (), "", 0, 0.0, False, 1.0)
        }
        self.tuples = frozenset(n for n in self.names if _is_tuple_hint(hints.get(n)))
        self.enums = {
            n: h
            for n in self.names
            if isinstance(h := hints.get(n), type) and issubclass(h, enum.Enum)
        }


_SHAPES: dict[type[Any], _Shape] = {}
_PLAIN = (str, int, float, bool, type(None))


def _shape(cls: type[Any]) -> _Shape:
    shape = _SHAPES.get(cls)
    if shape is None:
        shape = _SHAPES[cls] = _Shape(cls)
    return shape


def _is_tuple_hint(hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin is tuple or hint is tuple:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_tuple_hint(a) for a in typing.get_args(hint))
    return False


def encode(value: Any) -> Any:
    """Turn a record (or a JSON value holding records) into plain JSON values."""
    t = type(value)
    if t in _PLAIN:
        return value
    if t is list or t is tuple:
        return [v if type(v) in _PLAIN else encode(v) for v in value]
    if t is dict:
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, enum.Enum):
        return value.value
    if t in _SHAPES or (dataclasses.is_dataclass(value) and not isinstance(value, type)):
        out: dict[str, Any] = {"$t": t.__name__}
        for name in _shape(t).names:
            field = getattr(value, name)
            # most fields are plain: skip the recursive call for them (hot path)
            out[name] = field if type(field) in _PLAIN else encode(field)
        return out
    if isinstance(value, (bytes, bytearray)):
        return {"$b": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, _PLAIN):  # subclasses of str/int (not enums)
        return value
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    raise TypeError(f"cannot encode {t.__name__} into a record")


def decode(data: Any) -> Any:
    """Inverse of `encode`."""
    t = type(data)
    if t is list:
        return [decode(v) for v in data]
    if t is dict:
        if "$t" in data:
            cls = registered(data["$t"])
            shape = _shape(cls)
            kwargs: dict[str, Any] = {}
            for k, v in data.items():
                if k == "$t":
                    continue
                dv = decode(v)
                if k in shape.tuples and type(dv) is list:
                    dv = tuple(dv)
                elif k in shape.enums and dv is not None:
                    dv = shape.enums[k](dv)
                kwargs[k] = dv
            return cls(**kwargs)
        if "$b" in data and len(data) == 1:
            return base64.b64decode(data["$b"])
        return {k: decode(v) for k, v in data.items()}
    return data


def _json_default(value: Any) -> Any:
    """Called by the C JSON encoder for what it cannot write itself: records, bytes, enums."""
    t = type(value)
    flatten = _FLATTEN.get(t)
    if flatten is not None:
        return flatten(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        flatten = _FLATTEN[t] = _make_flattener(t)
        return flatten(value)
    if isinstance(value, (bytes, bytearray)):
        return {"$b": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"cannot encode {t.__name__} into a record")


_FLATTEN: dict[type[Any], Any] = {}


def _make_flattener(cls: type[Any]) -> Any:
    """Build `record -> dict` for one record type as straight-line code (the journal's hot
    path encodes a few records per syscall; a generic loop over fields costs twice as much)."""
    shape = _shape(cls)
    lines = ["def flatten(v):", f"    out = {{'$t': {cls.__name__!r}}}"]
    env: dict[str, Any] = {}
    for i, name in enumerate(shape.names):
        if name in shape.defaults:
            env[f"d{i}"] = shape.defaults[name]
            env[f"t{i}"] = type(shape.defaults[name])
            lines.append(f"    x = v.{name}")
            lines.append(f"    if x != d{i} or type(x) is not t{i}:")
            lines.append(f"        out[{name!r}] = x")
        else:
            lines.append(f"    out[{name!r}] = v.{name}")
    lines.append("    return out")
    exec("\n".join(lines), env)
    return env["flatten"]


# The recursion happens inside the C encoder; `_json_default` only flattens one record.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_json_default)

try:  # orjson (a dependency, but optional at run time) encodes 2-3x faster
    import orjson

    _OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS

    def dumps(value: Any) -> str:
        """Encode to a compact JSON string; fields left at a plain default are omitted."""
        try:
            return orjson.dumps(value, default=_json_default, option=_OPTIONS).decode()
        except TypeError:
            # orjson refuses what json accepts in a few corners (ints beyond 64 bits)
            return _ENCODER.encode(value)

    def _parse(text: str | bytes) -> Any:
        return orjson.loads(text)

except ImportError:  # pragma: no cover - exercised where orjson is not installed

    def dumps(value: Any) -> str:
        """Encode to a compact JSON string; fields left at a plain default are omitted."""
        return _ENCODER.encode(value)

    def _parse(text: str | bytes) -> Any:
        return json.loads(text)


def loads(text: str | bytes) -> Any:
    """Decode a JSON string produced by `dumps`."""
    return decode(_parse(text))


def replace(obj: T, **changes: Any) -> T:
    """`dataclasses.replace` for records, typed."""
    return dataclasses.replace(obj, **changes)  # type: ignore[type-var]


Factory = Callable[..., Any]
