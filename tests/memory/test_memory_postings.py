"""Selective filters: posting lists give the candidates, the full filter still decides."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from llmagentos.memory import IVFIndex, NumpyIndex, compile_filter
from llmagentos.memory.filters import Filter
from llmagentos.memory.spaces import Space

DIM = 16


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def metadata(i: int) -> dict[str, Any] | None:
    if i % 11 == 0:
        return None
    meta: dict[str, Any] = {"conv": f"c{i % 50}", "kind": "context" if i % 3 else "note"}
    meta["n"] = [True, 1, 1.0, 2, "1"][i % 5]  # values that == each other across types
    if i % 7 == 0:
        meta["tags"] = ["a", "b"]  # unhashable: never posted, never equal to a scalar
    return meta


def space_of(index: Any, n: int, seed: int = 0) -> tuple[Space, np.ndarray]:
    vecs = unit(np.random.default_rng(seed), n)
    space = Space(index)
    for i in range(n):
        space.apply(("add", (f"m{i}", vecs[i], metadata(i))))
    return space, vecs


def brute(space: Space, vecs: np.ndarray, q: np.ndarray, k: int, where: Any) -> list[str]:
    """Every memory scored, the filter applied to all: what a search must return."""
    scored = [(float(vecs[int(i[1:])] @ q), i) for i, meta in space.metadata.items() if where(meta)]
    scored.sort(key=lambda pair: (-pair[0], int(pair[1][1:])))
    return [i for _, i in scored[:k]]


WHERES = [
    {"conv": "c7"},
    {"conv": "c7", "kind": "context"},
    {"conv": {"$in": ["c1", "c2", "c49"]}},
    {"n": 1},  # True, 1 and 1.0 all equal 1, as the filter says
    {"n": {"$eq": "1"}},
    {"conv": "c3", "n": {"$gt": 1}},
    {"conv": "nobody"},
    {"tags": ["a", "b"]},  # unhashable value: no posting, a scan
]


@pytest.mark.parametrize("make", [lambda: NumpyIndex(DIM), lambda: IVFIndex(DIM, min_train=0)])
@pytest.mark.parametrize("where", WHERES)
def test_filtered_search_matches_brute_force(make: Any, where: dict[str, Any]) -> None:
    space, vecs = space_of(make(), 3000)
    if isinstance(space.index, IVFIndex):
        space.index.train()
    accept = compile_filter(where)
    assert accept is not None
    planned = space._among(accept) is not None
    assert planned == ("tags" not in where)
    for q in unit(np.random.default_rng(1), 5):
        got = [i for i, _ in space.search_now(q, 10, accept)]
        if planned or isinstance(space.index, NumpyIndex):
            assert got == brute(space, vecs, q, 10, accept)  # candidates are scored exactly
        else:  # an IVF scan is approximate, but the filter still holds
            assert len(got) == 10 and all(accept(space.metadata[i]) for i in got)


def test_postings_follow_adds_removals_and_upserts() -> None:
    space, vecs = space_of(NumpyIndex(DIM), 400)
    where = compile_filter({"conv": "c7"})
    q = vecs[7]
    assert space.search_now(q, 1, where)[0][0] == "m7"
    assert "conv" in space.postings  # built by that search
    space.apply(("remove", "m7"))
    assert "m7" not in {i for i, _ in space.search_now(q, 50, where)}
    space.apply(("add", ("new", q, {"conv": "c7"})))
    assert space.search_now(q, 1, where)[0][0] == "new"
    space.apply(("add", ("new", q, {"conv": "c8"})))  # same id, other metadata
    assert "new" not in {i for i, _ in space.search_now(q, 50, where)}
    assert space.search_now(q, 1, compile_filter({"conv": "c8"}))[0][0] == "new"
    assert all(
        space.metadata[i] == {"conv": "c8"} or space.metadata[i]["conv"] == "c8"
        for i in space.postings["conv"]["c8"]
    )


def test_a_selective_filter_tests_only_its_candidates() -> None:
    space, _ = space_of(NumpyIndex(DIM), 4000)
    calls = 0
    base = compile_filter({"conv": "c7", "kind": "context"})
    assert base is not None

    def counted(value: Any) -> bool:
        nonlocal calls
        calls += 1
        return True

    where = Filter((*base.clauses, ("kind", counted)), base.equalities)
    hits = space.search_now(unit(np.random.default_rng(2), 1)[0], 5, where)
    assert len(hits) == 5
    assert calls <= 80  # one conversation's memories (~80 of 4000), not the namespace
    scan = Filter((("kind", counted),), ())  # no equality clause: the index scans
    calls = 0
    space.search_now(unit(np.random.default_rng(3), 1)[0], 5, scan)
    assert calls >= 5
