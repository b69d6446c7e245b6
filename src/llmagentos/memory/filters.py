"""Metadata filters for recall: `where={"topic": "geo", "year": {"$gte": 2020}}`.

A filter is a dict from metadata key to either a plain JSON value (equality) or one
operator dict: `$eq`, `$ne`, `$in`, `$nin`, `$gt`, `$gte`, `$lt`, `$lte`, `$exists`.
All keys must match. Filters are checked when the call arrives, so a typo in an operator
is an `InvalidArgument`, not a silently empty result.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from llmagentos.errors import InvalidArgument

__all__ = ["Predicate", "compile_filter"]

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


def compile_filter(where: dict[str, Any] | None) -> Predicate | None:
    """A predicate over a memory's metadata, or None when there is nothing to filter."""
    if where is None or where == {}:
        return None
    if not isinstance(where, dict):
        raise InvalidArgument(f"`where` must be a dict, got {type(where).__name__}")
    clauses = [(str(key), _clause(str(key), cond)) for key, cond in where.items()]

    def predicate(meta: dict[str, Any] | None) -> bool:
        meta = meta or {}
        return all(test(meta.get(key, _MISSING)) for key, test in clauses)

    return predicate
