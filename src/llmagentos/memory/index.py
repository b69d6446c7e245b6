"""Vector indexes: the in-memory side of long-term memory (SQLite holds the truth).

`VectorIndex` is the role an index plays: upsert and remove vectors by id, and return the
ids nearest a query. `NumpyIndex` is exact brute-force cosine search over a float32 matrix
(a matrix product and an `argpartition`); at 100k x 384 it answers in milliseconds, which
is the scale one agent namespace reaches. FAISS, LanceDB or sqlite-vec would plug in here
for more (this Python's `sqlite3` cannot load extensions, so sqlite-vec needs a build with
`enable_load_extension`). `ProjectedIndex` (`memory.projected`, what large namespaces get
by default) and `IVFIndex` (`memory.ivf`) are approximate; both are `TrainableIndex`es,
which the namespace's `Space` trains off the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from llmagentos.errors import InvalidArgument

__all__ = ["NumpyIndex", "SubsetIndex", "TrainableIndex", "TrainingJob", "VectorIndex"]

Accept = Callable[[str], bool]


@runtime_checkable
class VectorIndex(Protocol):
    """Nearest-neighbour search over unit vectors, by id."""

    dim: int

    def __len__(self) -> int: ...

    def __contains__(self, item_id: object) -> bool: ...

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Insert or replace the vectors of `ids` (rows of `vectors`)."""

    def remove(self, ids: Sequence[str]) -> int:
        """Drop `ids`; returns how many were present."""

    def search(
        self, query: np.ndarray, k: int, accept: Accept | None = None
    ) -> list[tuple[str, float]]:
        """The `k` best (id, cosine) pairs, best first; `accept` filters ids."""


@runtime_checkable
class SubsetIndex(VectorIndex, Protocol):
    """An index that can score a given set of ids exactly (a selective filter's candidates)."""

    def search_among(
        self, query: np.ndarray, ids: Iterable[str], k: int, accept: Accept | None = None
    ) -> list[tuple[str, float]]:
        """The `k` best of `ids` (absent ones skipped) that `accept` passes, best first."""


class TrainingJob(Protocol):
    """The part of a training that needs no lock."""

    def run(self) -> Any: ...


@runtime_checkable
class TrainableIndex(VectorIndex, Protocol):
    """An index that needs training as it grows, in three steps so the middle runs unlocked."""

    def wants_training(self) -> bool: ...

    def begin_training(self) -> TrainingJob:
        """Snapshot what to train on (under the caller's lock)."""

    def finish_training(self, job: Any) -> None:
        """Install a job that has run (under the caller's lock)."""

    def abort_training(self) -> None: ...

    def expected_scan(self) -> int:
        """About how many vectors one unfiltered search scores."""


class NumpyIndex:
    """Exact cosine search: one float32 matrix, grown by doubling, holes filled on removal."""

    def __init__(self, dim: int, capacity: int = 256) -> None:
        self.dim = dim
        self._matrix = np.zeros((max(capacity, 1), dim), dtype=np.float32)
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._rows

    def _check(self, vectors: np.ndarray, count: int) -> np.ndarray:
        return check_vectors(vectors, count, self.dim)

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        vecs = self._check(vectors, len(ids))
        for item_id, vec in zip(ids, vecs, strict=True):
            row = self._rows.get(item_id)
            if row is None:
                row = len(self._ids)
                if row == len(self._matrix):
                    grown = np.zeros((2 * len(self._matrix), self.dim), dtype=np.float32)
                    grown[:row] = self._matrix[:row]
                    self._matrix = grown
                self._ids.append(item_id)
                self._rows[item_id] = row
            self._matrix[row] = vec

    def remove(self, ids: Sequence[str]) -> int:
        removed = 0
        for item_id in ids:
            row = self._rows.pop(item_id, None)
            if row is None:
                continue
            removed += 1
            last = len(self._ids) - 1
            if row != last:  # move the last row into the hole: the matrix stays dense
                moved = self._ids[last]
                self._ids[row] = moved
                self._rows[moved] = row
                self._matrix[row] = self._matrix[last]
            self._ids.pop()
        return removed

    def search(
        self, query: np.ndarray, k: int, accept: Accept | None = None
    ) -> list[tuple[str, float]]:
        q = self._check(query, 1)[0]
        n = len(self._ids)
        if n == 0 or k <= 0:
            return []
        scores = self._matrix[:n] @ q
        if accept is None:
            return [(self._ids[i], float(scores[i])) for i in top_k(scores, k)]
        # With a filter, look at ever larger sets of top candidates until k pass it.
        found: list[tuple[str, float]] = []
        want = min(n, max(4 * k, 32))
        seen = 0
        while True:
            order = top_k(scores, want)
            for i in order[seen:]:
                item_id = self._ids[i]
                if accept(item_id):
                    found.append((item_id, float(scores[i])))
                    if len(found) == k:
                        return found
            if want == n:
                return found
            seen, want = len(order), min(n, want * 8)

    def search_among(
        self, query: np.ndarray, ids: Iterable[str], k: int, accept: Accept | None = None
    ) -> list[tuple[str, float]]:
        q = self._check(query, 1)[0]
        rows = [r for i in ids if (r := self._rows.get(i)) is not None]
        if not rows or k <= 0:
            return []
        scores = self._matrix[rows] @ q
        return ranked(scores, [self._ids[r] for r in rows], k, accept)


def ranked(
    scores: np.ndarray, ids: Sequence[str], k: int, accept: Accept | None
) -> list[tuple[str, float]]:
    """The best `k` of (`ids`, `scores`) that `accept` passes, best first."""
    out: list[tuple[str, float]] = []
    for i in top_k(scores, len(scores)).tolist():
        if accept is None or accept(ids[i]):
            out.append((ids[i], float(scores[i])))
            if len(out) == k:
                break
    return out


def check_vectors(vectors: np.ndarray, count: int, dim: int) -> np.ndarray:
    """`vectors` as a float32 (count, dim) array (one vector may come flat), or InvalidArgument."""
    vecs = np.asarray(vectors, dtype=np.float32)
    if vecs.ndim == 1:
        vecs = vecs.reshape(1, -1)
    if vecs.shape != (count, dim):
        raise InvalidArgument(
            f"expected {count} vectors of {dim} components, got shape {vecs.shape}"
        )
    return vecs


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the `k` largest scores, largest first (ties: lower index first)."""
    n = len(scores)
    if k >= n:
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.lexsort((part, -scores[part]))]
