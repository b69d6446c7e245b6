"""Metadata filters for recall: `where={"topic": "geo", "year": {"$gte": 2020}}`.

A filter is a dict from metadata key to either a plain JSON value (equality) or one
operator dict: `$eq`, `$ne`, `$in`, `$nin`, `$gt`, `$gte`, `$lt`, `$lte`, `$exists`.
All keys must match. Filters are checked when the call arrives, so a typo in an operator
is an `InvalidArgument`, not a silently empty result.

A compiled filter also lists its equality clauses (`Filter.equalities`: plain values, `$eq`
and `$in` on hashable values), which a namespace's posting lists turn into a small set of
candidates when the filter is selective (see `memory.spaces`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llmagentos.errors import InvalidArgument

__all__ = ["Filter", "Predicate", "compile_filter"]

Predicate = Callable[[dict[str, Any] | None], bool]
_MISSING = object()
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}


def _clause(key: str, cond: Any) -> Callable[[Any], bool]:
    if not isinstance(cond, dict) or not any(str(k).startswith("$") for k in cond):
        return lambda value: value is not _MISSING and value == cond
    if len(cond) != 1:
        raise InvalidArgument(f"filter on {key!r} must have exactly one operator, got {cond}")
    ((op, arg),) = cond.items()
    if op == "$eq":
        return lambda value: value is not _MISSING and value == arg
    if op == "$ne":
        return lambda value: value is _MISSING or value != arg
    if op in ("$in", "$nin"):
        if not isinstance(arg, (list, tuple)):
            raise InvalidArgument(f"{op} on {key!r} needs a list, got {arg!r}")
        options = list(arg)
        if op == "$in":
            return lambda value: value is not _MISSING and value in options
        return lambda value: value is _MISSING or value not in options
    if op == "$exists":
        want = bool(arg)
        return lambda value: (value is not _MISSING) == want
    compare = _ORDER.get(op)
    if compare is None:
        raise InvalidArgument(f"unknown filter operator {op!r} on {key!r}")
    if not isinstance(arg, (int, float, str)) or isinstance(arg, bool):
        raise InvalidArgument(f"{op} on {key!r} needs a number or a string, got {arg!r}")

    def ordered(value: Any) -> bool:
        # Values of another type never match instead of raising (metadata is free-form).
        if value is _MISSING or isinstance(value, bool):
            return False
        if isinstance(arg, str) != isinstance(value, str):
            return False
        if not isinstance(value, (int, float, str)):
            return False
        return compare(value, arg)

    return ordered


@dataclass(frozen=True, slots=True)
class Filter:
    """A compiled `where`: call it on a memory's metadata."""

    clauses: tuple[tuple[str, Callable[[Any], bool]], ...]
    # (key, values): the key must equal one of the values (Python ==, as the clause does)
    equalities: tuple[tuple[str, tuple[Any, ...]], ...]

    def __call__(self, meta: dict[str, Any] | None) -> bool:
        meta = meta or {}
        return all(test(meta.get(key, _MISSING)) for key, test in self.clauses)


def _equality(cond: Any) -> tuple[Any, ...] | None:
    """The values an equality-like clause accepts, if they are all hashable."""
    if isinstance(cond, dict) and any(str(k).startswith("$") for k in cond):
        ((op, arg),) = cond.items()  # one operator: `_clause` checked it
        values = (arg,) if op == "$eq" else tuple(arg) if op == "$in" else None
    else:
        values = (cond,)
    if values is None:
        return None
    try:
        for value in values:
            hash(value)
    except TypeError:
        return None
    return values


def compile_filter(where: dict[str, Any] | None) -> Filter | None:
    """A predicate over a memory's metadata, or None when there is nothing to filter."""
    if where is None or where == {}:
        return None
    if not isinstance(where, dict):
        raise InvalidArgument(f"`where` must be a dict, got {type(where).__name__}")
    clauses = tuple((str(key), _clause(str(key), cond)) for key, cond in where.items())
    equalities = tuple(
        (str(key), values) for key, cond in where.items() if (values := _equality(cond)) is not None
    )
    return Filter(clauses, equalities)
