"""`ProjectedIndex`: agreement with exact search, removals, filters, (re)training."""

from __future__ import annotations

import numpy as np
import pytest

from llmagentos.errors import InvalidArgument
from llmagentos.memory import NumpyIndex, ProjectedIndex, TrainableIndex, VectorIndex

DIM = 48


def clustered(seed: int, n: int, topics: int = 80, noise: float = 0.3) -> np.ndarray:
    """Unit vectors around topics, with a decaying spectrum as text embeddings have."""
    rng = np.random.default_rng(seed)
    scale = 0.93 ** np.arange(DIM)
    centres = rng.normal(size=(topics, DIM)) * scale
    x = centres[rng.integers(0, topics, n)] + noise * rng.normal(size=(n, DIM)) * scale
    unit: np.ndarray = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return unit


def both(vecs: np.ndarray, **options: int) -> tuple[ProjectedIndex, NumpyIndex]:
    ids = [f"m{i}" for i in range(len(vecs))]
    index, exact = ProjectedIndex(DIM, components=16, **options), NumpyIndex(DIM)
    index.add(ids, vecs)
    exact.add(ids, vecs)
    return index, exact


def test_is_a_trainable_vector_index() -> None:
    index = ProjectedIndex(DIM)
    assert isinstance(index, VectorIndex) and isinstance(index, TrainableIndex)


def test_trained_search_agrees_with_exact_search() -> None:
    vecs = clustered(0, 6000)
    index, exact = both(vecs, min_train=1000)
    index.train()
    assert index.trained and index.expected_scan() < len(vecs) // 2
    rng = np.random.default_rng(1)
    queries = (vecs[rng.integers(0, 6000, 200)] + 0.1 * rng.normal(size=(200, DIM))).astype(
        np.float32
    )
    top1 = overlap = 0.0
    for q in queries:
        got, want = index.search(q, 5), exact.search(q, 5)
        top1 += got[0][0] == want[0][0]
        assert got[0][1] == pytest.approx(want[0][1]) or got[0][0] != want[0][0]
        overlap += len({i for i, _ in got} & {i for i, _ in want}) / 5
    assert top1 / 200 >= 0.95
    assert overlap / 200 >= 0.9


def test_untrained_is_exact_and_training_waits_for_min_train() -> None:
    vecs = clustered(2, 500)
    index, exact = both(vecs, min_train=501)
    assert not index.wants_training() and not index.trained
    for q in vecs[:20]:
        assert index.search(q, 7) == exact.search(q, 7)
    index.add(["extra"], vecs[0])
    assert index.wants_training()


def test_forget_and_upsert_keep_the_projection_in_step() -> None:
    vecs = clustered(3, 3000)
    index, _ = both(vecs, min_train=500)
    index.train()
    gone = [f"m{i}" for i in range(0, 3000, 2)]
    assert index.remove([*gone, "missing"]) == 1500
    for i in range(1, 200, 2):  # the survivors moved rows; each still finds itself
        assert index.search(vecs[i], 1)[0][0] == f"m{i}"
    for i in range(0, 200, 2):
        assert f"m{i}" not in {h for h, _ in index.search(vecs[i], 10)}
    index.add(["m1"], vecs[100])  # same id, new vector (m100 itself was removed)
    assert len(index) == 1500
    assert index.search(vecs[100], 1)[0][0] == "m1"


def test_filters_hold_and_widen_the_pool() -> None:
    vecs = clustered(4, 4000)
    index, exact = both(vecs, min_train=500)
    index.train()

    def rare(item_id: str) -> bool:
        return int(item_id[1:]) % 397 == 0

    hits = index.search(vecs[5], 20, accept=rare)
    assert sorted(i for i, _ in hits) == sorted(i for i, _ in exact.search(vecs[5], 20, rare))
    assert index.search(vecs[0], 3, accept=lambda i: False) == []


def test_retrains_after_doubling_and_counts_writes_since_the_snapshot() -> None:
    vecs = clustered(5, 5000)
    index = ProjectedIndex(DIM, components=16, min_train=1000)
    index.add([f"m{i}" for i in range(1000)], vecs[:1000])
    job = index.begin_training()
    assert not index.wants_training()  # one at a time
    index.add([f"m{i}" for i in range(1000, 1500)], vecs[1000:1500])
    index.remove(["m3"])
    index.finish_training(job.run())
    assert index.trained and index.trainings == 1 and len(index) == 1499
    assert index.search(vecs[1400], 1)[0][0] == "m1400"
    index.add([f"m{i}" for i in range(1500, 5000)], vecs[1500:])
    assert index.wants_training()
    index.train()
    assert index.trainings == 2 and index.search(vecs[4999], 1)[0][0] == "m4999"


def test_bad_parameters_and_jobs_are_typed_errors() -> None:
    with pytest.raises(InvalidArgument):
        ProjectedIndex(DIM, rerank=0)
    with pytest.raises(InvalidArgument):
        ProjectedIndex(DIM, components=0)
    index = ProjectedIndex(DIM, min_train=2)
    index.add(["a", "b"], clustered(6, 2))
    with pytest.raises(InvalidArgument):
        index.finish_training(index.begin_training())  # never ran
    index.abort_training()
    assert index.wants_training()
