"""Metadata filters: equality and operators, typos caught up front."""

from __future__ import annotations

from typing import Any

import pytest

from llmagentos.errors import InvalidArgument
from llmagentos.memory import compile_filter

META: dict[str, Any] = {"topic": "geo", "year": 2021, "tags": "x", "flag": True}


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"topic": "geo"}, True),
        ({"topic": "home"}, False),
        ({"missing": None}, False),
        ({"topic": {"$eq": "geo"}}, True),
        ({"topic": {"$ne": "geo"}}, False),
        ({"missing": {"$ne": 1}}, True),
        ({"topic": {"$in": ["geo", "home"]}}, True),
        ({"topic": {"$nin": ["geo"]}}, False),
        ({"year": {"$gte": 2021}}, True),
        ({"year": {"$gt": 2021}}, False),
        ({"year": {"$lt": 2030}, "topic": "geo"}, True),
        ({"topic": {"$lt": 5}}, False),  # a string never compares with a number
        ({"flag": {"$gt": 0}}, False),  # booleans are not numbers here
        ({"tags": {"$exists": True}}, True),
        ({"nope": {"$exists": False}}, True),
    ],
)
def test_filters(where: dict[str, Any], expected: bool) -> None:
    pred = compile_filter(where)
    assert pred is not None
    assert pred(META) is expected


def test_empty_filter_is_none_and_none_metadata_matches_nothing_required() -> None:
    assert compile_filter(None) is None
    assert compile_filter({}) is None
    pred = compile_filter({"a": 1})
    assert pred is not None and pred(None) is False


@pytest.mark.parametrize(
    "where",
    [
        {"a": {"$regex": "x"}},
        {"a": {"$in": 3}},
        {"a": {"$gt": [1]}},
        {"a": {"$gt": 1, "$lt": 3}},
        "topic=geo",
    ],
)
def test_bad_filters_are_invalid_arguments(where: Any) -> None:
    with pytest.raises(InvalidArgument):
        compile_filter(where)
