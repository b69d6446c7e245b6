"""`IVFIndex`: agreement with exact search, removals, filters, (re)training, the manager path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmagentos.errors import InvalidArgument
from llmagentos.memory import (
    IVFIndex,
    MemoryConfig,
    MemoryManager,
    NumpyIndex,
    ProjectedIndex,
    TrainableIndex,
    VectorIndex,
)
from llmagentos.storage.db import Database
from llmagentos.storage.managers import MANAGER_SCHEMAS
from llmagentos.storage.schema import CORE_SCHEMA

DIM = 32


def clustered(seed: int, n: int, topics: int = 60, noise: float = 0.35) -> np.ndarray:
    """Unit vectors around `topics` centres: the shape real text embeddings have."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(topics, DIM))
    x = centres[rng.integers(0, topics, n)] + noise * rng.normal(size=(n, DIM))
    unit: np.ndarray = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return unit


def both(vecs: np.ndarray, **options: int) -> tuple[IVFIndex, NumpyIndex]:
    ids = [f"m{i}" for i in range(len(vecs))]
    ivf, exact = IVFIndex(DIM, **options), NumpyIndex(DIM)
    ivf.add(ids, vecs)
    exact.add(ids, vecs)
    return ivf, exact


def test_is_a_trainable_vector_index() -> None:
    index = IVFIndex(DIM)
    assert isinstance(index, VectorIndex)
    assert isinstance(index, TrainableIndex)
    assert not isinstance(NumpyIndex(DIM), TrainableIndex)


def test_trained_search_agrees_with_exact_search() -> None:
    vecs = clustered(0, 8000)
    ivf, exact = both(vecs, min_train=1000)
    ivf.train()
    assert ivf.trained and ivf.nlist == 89 and ivf.nprobe == 11
    assert ivf.expected_scan() < len(vecs) // 4
    rng = np.random.default_rng(1)
    queries = vecs[rng.integers(0, len(vecs), 200)] + 0.1 * rng.normal(size=(200, DIM))
    top1 = overlap = 0.0
    for q in queries.astype(np.float32):
        got, want = ivf.search(q, 5), exact.search(q, 5)
        top1 += got[0] == pytest.approx(want[0])
        overlap += len({i for i, _ in got} & {i for i, _ in want}) / 5
        assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
    assert top1 / 200 >= 0.95
    assert overlap / 200 >= 0.9


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 300), st.integers(1, 12))
def test_untrained_index_is_exact(seed: int, n: int, k: int) -> None:
    vecs = clustered(seed, n)
    ivf, exact = both(vecs, min_train=10_000)
    q = clustered(seed + 1, 1)[0]
    assert not ivf.wants_training()
    assert [i for i, _ in ivf.search(q, k)] == [i for i, _ in exact.search(q, k)]


def test_forget_removes_from_the_lists() -> None:
    vecs = clustered(2, 3000)
    ivf, _ = both(vecs, min_train=500)
    ivf.train()
    gone = [f"m{i}" for i in range(0, 3000, 3)]
    assert ivf.remove([*gone, "never-there"]) == len(gone)
    assert len(ivf) == 2000 and "m0" not in ivf and "m1" in ivf
    for i in range(0, 300, 3):  # its own vector no longer finds it
        hits = ivf.search(vecs[i], 10)
        assert f"m{i}" not in {h for h, _ in hits}
        assert len(hits) == 10
    assert ivf.search(vecs[1], 1)[0][0] == "m1"


def test_upsert_moves_a_vector_to_its_new_list() -> None:
    vecs = clustered(3, 2000)
    ivf, _ = both(vecs, min_train=500)
    ivf.train()
    ivf.add(["m0"], vecs[1])
    assert len(ivf) == 2000
    assert {i for i, _ in ivf.search(vecs[1], 2)} == {"m0", "m1"}


def test_filters_hold_and_rare_matches_are_found_in_far_lists() -> None:
    vecs = clustered(4, 4000)
    ivf, exact = both(vecs, min_train=500)
    ivf.train()

    def rare(item_id: str) -> bool:
        return int(item_id[1:]) % 397 == 0

    hits = ivf.search(vecs[5], 20, accept=rare)
    # every match in the index, though most live in lists the query would not probe
    assert sorted(i for i, _ in hits) == sorted(i for i, _ in exact.search(vecs[5], 20, rare))
    sevens = ivf.search(vecs[9], 5, accept=lambda i: i.endswith("7"))
    assert len(sevens) == 5 and all(i.endswith("7") for i, _ in sevens)
    assert ivf.search(vecs[0], 3, accept=lambda i: False) == []


def test_retrains_after_doubling() -> None:
    vecs = clustered(5, 6000)
    ivf = IVFIndex(DIM, min_train=1000)
    ivf.add([f"m{i}" for i in range(999)], vecs[:999])
    assert not ivf.wants_training() and not ivf.trained
    ivf.add(["m999"], vecs[999])
    assert ivf.wants_training()
    ivf.train()
    assert (ivf.trained, ivf.nlist, ivf.trainings) == (True, 32, 1)
    ivf.add([f"m{i}" for i in range(1000, 1999)], vecs[1000:1999])
    assert not ivf.wants_training()
    ivf.add([f"m{i}" for i in range(1999, 6000)], vecs[1999:])
    assert ivf.wants_training()
    ivf.train()
    assert (ivf.nlist, ivf.trainings, len(ivf)) == (77, 2, 6000)
    assert ivf.search(vecs[4321], 1)[0][0] == "m4321"


def test_writes_during_training_are_replayed_onto_the_new_lists() -> None:
    vecs = clustered(6, 3000)
    ivf = IVFIndex(DIM, min_train=1000)
    ivf.add([f"m{i}" for i in range(2000)], vecs[:2000])
    job = ivf.begin_training()
    assert not ivf.wants_training()  # one training at a time
    ivf.add([f"m{i}" for i in range(2000, 3000)], vecs[2000:])
    ivf.remove(["m5", "m2500"])
    assert ivf.search(vecs[2600], 1)[0][0] == "m2600"  # searches go on meanwhile
    ivf.finish_training(job.run())
    assert ivf.trained and len(ivf) == 2998
    assert "m5" not in ivf and "m2500" not in ivf
    assert ivf.search(vecs[2999], 1)[0][0] == "m2999"
    assert ivf.search(vecs[6], 1)[0][0] == "m6"


def test_aborted_training_leaves_the_index_as_it_was() -> None:
    vecs = clustered(7, 1500)
    ivf, _ = both(vecs, min_train=1000)
    ivf.begin_training()
    ivf.abort_training()
    assert not ivf.trained and ivf.wants_training()
    assert ivf.search(vecs[3], 1)[0][0] == "m3"
    with pytest.raises(InvalidArgument):
        ivf.finish_training(ivf.begin_training())  # never ran


def test_bad_shapes_and_parameters_are_typed_errors() -> None:
    index = IVFIndex(DIM)
    with pytest.raises(InvalidArgument):
        index.add(["a"], np.zeros((1, DIM + 1), dtype=np.float32))
    with pytest.raises(InvalidArgument):
        index.search(np.zeros(3, dtype=np.float32), 1)
    with pytest.raises(InvalidArgument):
        IVFIndex(DIM, nprobe=0)
    with pytest.raises(InvalidArgument):
        IVFIndex(DIM, min_train=-1)


# -- through the manager -------------------------------------------------------------------


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "os.db").open([CORE_SCHEMA, *MANAGER_SCHEMAS])
    yield database
    database.close()


async def test_manager_trains_a_growing_namespace_off_the_loop(db: Database) -> None:
    m = MemoryManager(
        db, MemoryConfig(embedder="hash", index="ivf", ann_min_rows=300, max_batch=2000)
    )
    await m.space("notes")
    texts = [f"note {i} about topic {i % 17} and item {i % 5}" for i in range(700)]
    metas = [{"topic": i % 17} for i in range(700)]
    ids = await m.store("notes", texts, metas, [f"n{i}" for i in range(700)])
    await m.settle()
    index = (await m.space("notes")).index
    assert isinstance(index, IVFIndex) and index.trained and m.stats["trained"] == 1
    hits = await m.recall("notes", "note 42 about topic 8", k=5, where={"topic": 8})
    assert hits and hits[0].id == "n42"
    assert all(h.metadata == {"topic": 8} for h in hits)
    await db.write(lambda c: m.write_forget(c, "notes", "n42"))
    m.forgotten("notes", "n42")
    again = await m.recall("notes", "note 42 about topic 8", k=5, where={"topic": 8})
    assert "n42" not in {h.id for h in again} and len(again) == 5
    assert len(ids) == 700


async def test_a_big_namespace_is_trained_when_it_loads(db: Database) -> None:
    writer = MemoryManager(db, MemoryConfig(embedder="hash", max_batch=2000))
    await writer.store("big", [f"fact number {i}" for i in range(600)])  # not indexed yet
    reader = MemoryManager(db, MemoryConfig(embedder="hash", index="ivf", ann_min_rows=500))
    index = (await reader.space("big")).index
    assert isinstance(index, IVFIndex) and index.trained
    default = MemoryManager(db, MemoryConfig(embedder="hash", ann_min_rows=500))
    projected = (await default.space("big")).index
    assert isinstance(projected, ProjectedIndex) and projected.trained
    exact = MemoryManager(db, MemoryConfig(embedder="hash", index="exact"))
    assert isinstance((await exact.space("big")).index, NumpyIndex)


def test_bad_index_settings_are_typed_errors(db: Database) -> None:
    with pytest.raises(InvalidArgument):
        MemoryManager(db, MemoryConfig(index="faiss"))
    with pytest.raises(InvalidArgument):
        MemoryManager(db, MemoryConfig(ann_min_rows=-5))
