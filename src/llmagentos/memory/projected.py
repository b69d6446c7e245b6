"""`ProjectedIndex`: approximate cosine search that scores every vector in fewer dimensions.

Exact search reads all `n x dim` float32 components per query, which at 100k x 384 is
bound by memory bandwidth. This index keeps, next to the full vectors, their projection on
the top `components` principal axes (fitted on a sample); a query scores the projected
matrix (a quarter of the bytes at 96 of 384), takes the best candidates (`rerank` of the
namespace, at least 32) and ranks them by their exact cosine. Unlike an inverted file it
never routes a query away from part of the data, which matters for memories asked about in
other words: a paraphrase is far from its fact, and IVF's nearest lists often miss it
(measured in `bench/memory.py`). Below `min_train` vectors search is exact; the axes are
fitted again each time the index has doubled, off the caller's loop (`TrainableIndex`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from llmagentos.errors import InvalidArgument
from llmagentos.memory.index import Accept, NumpyIndex, ranked

__all__ = ["ProjectedIndex"]


@dataclass
class ProjectionJob:
    """A sample of the vectors; `run` fits the axes without touching the index."""

    sample: np.ndarray
    components: int
    basis: np.ndarray | None = None

    def run(self) -> ProjectionJob:
        centred = self.sample - self.sample.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        self.basis = np.ascontiguousarray(vt[: self.components].T, dtype=np.float32)
        return self


class ProjectedIndex(NumpyIndex):
    """Exact below `min_train` vectors; above, a projected scan and an exact re-rank."""

    def __init__(
        self,
        dim: int,
        *,
        min_train: int = 20_000,
        components: int = 96,
        rerank: float = 1 / 64,
        sample: int = 16_384,
        seed: int = 0,
        capacity: int = 256,
    ) -> None:
        if min_train < 0 or components < 1 or not 0 < rerank <= 1 or sample < 2:
            raise InvalidArgument(
                "need min_train >= 0, components >= 1, 0 < rerank <= 1 and sample >= 2"
            )
        super().__init__(dim, capacity)
        self.min_train = min_train
        self.components = min(components, dim)
        self.rerank = rerank
        self._sample = sample
        self._rng = np.random.default_rng(seed)
        self._basis: np.ndarray | None = None  # dim x components
        self._reduced = np.zeros((0, self.components), dtype=np.float32)
        self._trained_at = 0
        self._training = False
        self.trainings = 0

    @property
    def trained(self) -> bool:
        return self._basis is not None

    def candidates(self, k: int) -> int:
        return max(4 * k, 32, math.ceil(len(self) * self.rerank))

    # -- writes keep the projection in step with the rows ---------------------------------

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        vecs = self._check(vectors, len(ids))
        super().add(ids, vecs)
        if self._basis is None:
            return
        if len(self._reduced) < len(self._matrix):
            grown = np.zeros((len(self._matrix), self.components), dtype=np.float32)
            grown[: len(self._reduced)] = self._reduced
            self._reduced = grown
        self._reduced[[self._rows[i] for i in ids]] = vecs @ self._basis

    def remove(self, ids: Sequence[str]) -> int:
        removed = 0
        for item_id in ids:
            row = self._rows.get(item_id)
            if row is None:
                continue
            last = len(self) - 1
            super().remove([item_id])  # moves the last row into the hole
            if self._basis is not None and row != last:
                self._reduced[row] = self._reduced[last]
            removed += 1
        return removed

    # -- training -------------------------------------------------------------------------

    def wants_training(self) -> bool:
        n = len(self)
        if self._training or n < max(self.min_train, 2):
            return False
        return self._basis is None or n >= 2 * self._trained_at

    def begin_training(self) -> ProjectionJob:
        n = len(self)
        rows = np.sort(self._rng.choice(n, min(n, self._sample), replace=False))
        self._training = True
        return ProjectionJob(self._matrix[rows].copy(), min(self.components, len(rows)))

    def abort_training(self) -> None:
        self._training = False

    def finish_training(self, job: Any) -> None:
        """Install the fitted axes and project every current row (writes since the
        snapshot included: nothing to replay)."""
        if not isinstance(job, ProjectionJob) or job.basis is None:
            raise InvalidArgument("finish_training needs a ProjectionJob that has run")
        self._training = False
        basis = np.zeros((self.dim, self.components), dtype=np.float32)
        basis[:, : job.basis.shape[1]] = job.basis
        n = len(self)
        reduced = np.zeros((len(self._matrix), self.components), dtype=np.float32)
        for start in range(0, n, 16_384):
            stop = min(n, start + 16_384)
            reduced[start:stop] = self._matrix[start:stop] @ basis
        self._basis, self._reduced = basis, reduced
        self._trained_at = n
        self.trainings += 1

    def train(self) -> None:
        self.finish_training(self.begin_training().run())

    def expected_scan(self) -> int:
        """Vectors' worth of float32 one unfiltered search reads."""
        n = len(self)
        if self._basis is None:
            return n
        return math.ceil(n * self.components / self.dim) + self.candidates(5)

    # -- search ---------------------------------------------------------------------------

    def search(
        self, query: np.ndarray, k: int, accept: Accept | None = None
    ) -> list[tuple[str, float]]:
        if self._basis is None:
            return super().search(query, k, accept)
        q = self._check(query, 1)[0]
        n = len(self)
        if n == 0 or k <= 0:
            return []
        approx = self._reduced[:n] @ (q @ self._basis)
        want = self.candidates(k)
        while True:  # a filter that rejects most candidates widens the pool
            pool = np.arange(n) if want >= n else np.argpartition(-approx, want - 1)[:want]
            exact = self._matrix[pool] @ q
            hits = ranked(exact, [self._ids[i] for i in pool.tolist()], k, accept)
            if len(hits) == k or want >= n:
                return hits
            want *= 8
