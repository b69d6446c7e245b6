"""`NumpyIndex`: exact cosine search, upserts, removals, filters."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmagentos.errors import InvalidArgument
from llmagentos.memory import NumpyIndex, VectorIndex


def unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_is_a_vector_index() -> None:
    assert isinstance(NumpyIndex(8), VectorIndex)


def test_search_returns_nearest_first_and_grows() -> None:
    rng = np.random.default_rng(0)
    vecs = unit(rng, 1000, 16)
    index = NumpyIndex(16, capacity=4)
    index.add([f"m{i}" for i in range(1000)], vecs)
    assert len(index) == 1000
    hits = index.search(vecs[123], 3)
    assert hits[0][0] == "m123"
    assert hits[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_upsert_replaces_and_remove_fills_holes() -> None:
    index = NumpyIndex(2)
    index.add(["a", "b", "c"], np.array([[1, 0], [0, 1], [-1, 0]], dtype=np.float32))
    index.add(["a"], np.array([[0, -1]], dtype=np.float32))  # same id: replaced
    assert len(index) == 3
    assert index.search(np.array([0, -1], dtype=np.float32), 1)[0][0] == "a"
    assert index.remove(["b", "missing"]) == 1
    assert "b" not in index and "c" in index
    assert {i for i, _ in index.search(np.array([1, 0], dtype=np.float32), 5)} == {"a", "c"}


def test_filter_finds_matches_beyond_the_first_candidates() -> None:
    rng = np.random.default_rng(1)
    vecs = unit(rng, 500, 8)
    index = NumpyIndex(8)
    index.add([str(i) for i in range(500)], vecs)
    # only ids divisible by 97 pass: they are rarely among the top candidates
    hits = index.search(vecs[0], 10, accept=lambda i: int(i) % 97 == 0)
    assert sorted(int(i) for i, _ in hits) == [0, 97, 194, 291, 388, 485]
    assert index.search(vecs[0], 3, accept=lambda i: False) == []


def test_wrong_shapes_are_typed_errors() -> None:
    index = NumpyIndex(4)
    with pytest.raises(InvalidArgument):
        index.add(["a"], np.zeros((1, 5), dtype=np.float32))
    with pytest.raises(InvalidArgument):
        index.search(np.zeros(3, dtype=np.float32), 1)
    assert index.search(np.zeros(4, dtype=np.float32), 1) == []


@settings(max_examples=40, deadline=None)
@given(
    ops=st.lists(
        st.tuples(st.sampled_from(["add", "remove"]), st.integers(0, 30)), min_size=1, max_size=80
    ),
    k=st.integers(1, 12),
    seed=st.integers(0, 2**16),
)
def test_matches_brute_force_after_any_edits(ops: list[tuple[str, int]], k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    index = NumpyIndex(6, capacity=1)
    truth: dict[str, np.ndarray] = {}
    for op, key in ops:
        if op == "add":
            vec = unit(rng, 1, 6)
            index.add([str(key)], vec)
            truth[str(key)] = vec[0]
        else:
            index.remove([str(key)])
            truth.pop(str(key), None)
    query = unit(rng, 1, 6)[0]
    got = index.search(query, k)
    expected = sorted(truth, key=lambda i: -float(truth[i] @ query))[:k]
    assert len(got) == len(expected) == min(k, len(truth))
    for (gid, gscore), eid in zip(got, expected, strict=True):
        assert gscore == pytest.approx(float(truth[eid] @ query), abs=1e-5)
        assert gscore == pytest.approx(float(truth[gid] @ query), abs=1e-5)
