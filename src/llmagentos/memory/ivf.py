"""`IVFIndex`: approximate cosine search for large namespaces (an inverted file).

Exact search reads every vector on every query (100k x 384 float32 is 154 MB), which is
bound by memory bandwidth. An inverted file splits the vectors into `nlist` lists around
k-means centroids; a query is compared with the centroids, then only the vectors of the
`nprobe` nearest lists are scored exactly and ranked. Below `min_train` vectors the index
is one list, so search is exact; past it the index trains (spherical k-means on a sample,
numpy only) and retrains each time it has doubled since the last training.

Training is split so the caller can run the expensive middle off its event loop:
`begin_training` snapshots the vectors (under the caller's lock), `TrainingJob.run`
clusters them (no lock), `finish_training` installs the lists and replays the adds and
removals that arrived meanwhile (under the lock again). `train` does all three at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from llmagentos.errors import InvalidArgument
from llmagentos.memory.index import check_vectors, ranked, top_k

__all__ = ["IVFIndex", "TrainingJob"]

Accept = Callable[[str], bool]


@dataclass
class _List:
    """One inverted list: a dense float32 matrix grown by doubling, ids by row."""

    matrix: np.ndarray
    ids: list[str] = field(default_factory=list)

    def append(self, item_id: str, vec: np.ndarray) -> int:
        row = len(self.ids)
        if row == len(self.matrix):
            grown = np.zeros((max(2 * row, 16), self.matrix.shape[1]), dtype=np.float32)
            grown[:row] = self.matrix[:row]
            self.matrix = grown
        self.matrix[row] = vec
        self.ids.append(item_id)
        return row

    def scores(self, query: np.ndarray) -> np.ndarray:
        scores: np.ndarray = self.matrix[: len(self.ids)] @ query
        return scores


@dataclass
class TrainingJob:
    """A snapshot of the vectors to cluster; `run` needs no lock and touches no index."""

    ids: list[str]
    vectors: np.ndarray
    nlist: int
    seed: int
    centroids: np.ndarray | None = None
    assignment: np.ndarray | None = None

    def run(self) -> TrainingJob:
        rng = np.random.default_rng(self.seed)
        self.centroids = _kmeans(self.vectors, self.nlist, rng)
        self.assignment = _assign(self.vectors, self.centroids)
        return self


class IVFIndex:
    """Inverted-file cosine search: exact below `min_train` vectors, approximate above.

    `nlist` defaults to about sqrt(n) lists at training time and `nprobe` to an eighth of
    them (at least 8), so a query scores roughly 12% of the vectors (`bench/memory.py`
    reports recall with a sixteenth and an eighth). A search with a filter probes further
    lists until `k` accepted ids are found or every list is read.
    """

    def __init__(
        self,
        dim: int,
        *,
        min_train: int = 20_000,
        nlist: int | None = None,
        nprobe: int | None = None,
        seed: int = 0,
    ) -> None:
        if min_train < 0 or (nlist is not None and nlist < 1):
            raise InvalidArgument("min_train must be >= 0 and nlist >= 1")
        if nprobe is not None and nprobe < 1:
            raise InvalidArgument(f"nprobe must be >= 1, got {nprobe}")
        self.dim = dim
        self.min_train = min_train
        self._nlist = nlist
        self._nprobe = nprobe
        self._seed = seed
        self._centroids: np.ndarray | None = None  # None: one list, exact search
        self._lists = [_List(np.zeros((16, dim), dtype=np.float32))]
        self._where: dict[str, tuple[int, int]] = {}  # id -> (list, row)
        self._trained_at = 0  # size when last trained
        self._log: list[tuple[str, str, np.ndarray | None]] | None = None  # while training
        self.trainings = 0

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._where

    @property
    def trained(self) -> bool:
        return self._centroids is not None

    @property
    def nlist(self) -> int:
        return len(self._lists)

    @property
    def nprobe(self) -> int:
        if self._centroids is None:
            return 1
        wanted = self._nprobe if self._nprobe is not None else max(8, self.nlist // 8)
        return min(self.nlist, wanted)

    # -- writes ---------------------------------------------------------------------------

    def _check(self, vectors: np.ndarray, count: int) -> np.ndarray:
        return check_vectors(vectors, count, self.dim)

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        vecs = self._check(vectors, len(ids))
        if self._log is not None:
            self._log.extend(("add", i, v) for i, v in zip(ids, vecs, strict=True))
        lists = (
            _assign(vecs, self._centroids)
            if self._centroids is not None
            else np.zeros(len(ids), dtype=np.int64)
        )
        for item_id, vec, target in zip(ids, vecs, lists.tolist(), strict=True):
            self._discard(item_id)
            row = self._lists[target].append(item_id, vec)
            self._where[item_id] = (target, row)

    def remove(self, ids: Sequence[str]) -> int:
        if self._log is not None:
            self._log.extend(("remove", i, None) for i in ids)
        return sum(self._discard(i) for i in ids)

    def _discard(self, item_id: str) -> bool:
        place = self._where.pop(item_id, None)
        if place is None:
            return False
        target, row = place
        lst = self._lists[target]
        last = len(lst.ids) - 1
        if row != last:  # move the list's last row into the hole: it stays dense
            moved = lst.ids[last]
            lst.ids[row] = moved
            lst.matrix[row] = lst.matrix[last]
            self._where[moved] = (target, row)
        lst.ids.pop()
        return True

    # -- training -------------------------------------------------------------------------

    def wants_training(self) -> bool:
        """Big enough to train for the first time, or doubled since the last training."""
        n = len(self._where)
        if self._log is not None or n < max(self.min_train, 1):
            return False
        return self._centroids is None or n >= 2 * self._trained_at

    def begin_training(self) -> TrainingJob:
        """Snapshot the vectors; adds and removals from now on are logged for the swap."""
        ids = [i for lst in self._lists for i in lst.ids]
        vectors = np.concatenate([lst.matrix[: len(lst.ids)] for lst in self._lists])
        nlist = self._nlist or max(1, round(math.sqrt(len(ids))))
        self._log = []
        self._seed += 1
        return TrainingJob(ids, vectors, min(nlist, max(1, len(ids))), self._seed)

    def abort_training(self) -> None:
        """Forget a training that failed: the index goes on as it was."""
        self._log = None

    def expected_scan(self) -> int:
        """About how many vectors (centroids included) a search without a filter scores."""
        n = len(self._where)
        if self._centroids is None:
            return n
        return self.nlist + math.ceil(n * self.nprobe / self.nlist)

    def finish_training(self, job: Any) -> None:
        """Install the trained lists, then replay what changed since `begin_training`."""
        if not isinstance(job, TrainingJob) or job.centroids is None or job.assignment is None:
            raise InvalidArgument("finish_training needs a job that has run")
        log, self._log = self._log or [], None
        lists = [_List(np.zeros((0, self.dim), dtype=np.float32)) for _ in job.centroids]
        order = np.argsort(job.assignment, kind="stable")
        bounds = np.searchsorted(job.assignment[order], np.arange(len(lists) + 1))
        where: dict[str, tuple[int, int]] = {}
        for target, lst in enumerate(lists):
            rows = order[bounds[target] : bounds[target + 1]]
            lst.matrix = np.ascontiguousarray(job.vectors[rows])
            lst.ids = [job.ids[r] for r in rows.tolist()]
            where.update((item_id, (target, row)) for row, item_id in enumerate(lst.ids))
        self._centroids, self._lists, self._where = job.centroids, lists, where
        self._trained_at = len(job.ids)
        self.trainings += 1
        for kind, item_id, vec in log:
            if kind == "add" and vec is not None:
                self.add([item_id], vec)
            else:
                self._discard(item_id)

    def train(self) -> None:
        """Train now, on the calling thread."""
        self.finish_training(self.begin_training().run())

    # -- search ---------------------------------------------------------------------------

    def search(
        self, query: np.ndarray, k: int, accept: Accept | None = None
    ) -> list[tuple[str, float]]:
        q = self._check(query, 1)[0]
        if not self._where or k <= 0:
            return []
        if self._centroids is None:
            order = [0]
        else:
            order = np.argsort(-(self._centroids @ q), kind="stable").tolist()
        found: list[tuple[float, str]] = []
        probed, step = 0, self.nprobe
        while probed < len(order):
            batch = [self._lists[t] for t in order[probed : probed + step]]
            probed += step
            step *= 2  # widen until k pass: a rare filter reads every list at worst
            found.extend(_best(batch, q, k, accept))
            if len(found) >= k:
                break
        found.sort(key=lambda pair: -pair[0])
        return [(item_id, score) for score, item_id in found[:k]]

    def search_among(
        self, query: np.ndarray, ids: Iterable[str], k: int, accept: Accept | None = None
    ) -> list[tuple[str, float]]:
        """Exact scores of the given ids, wherever their lists are."""
        q = self._check(query, 1)[0]
        places = [(i, p) for i in ids if (p := self._where.get(i)) is not None]
        if not places or k <= 0:
            return []
        lists = self._lists
        vectors = np.stack([lists[t].matrix[row] for _, (t, row) in places])
        return ranked(vectors @ q, [i for i, _ in places], k, accept)


def _best(
    lists: list[_List], q: np.ndarray, k: int, accept: Accept | None
) -> list[tuple[float, str]]:
    """The best `k` (score, id) of these lists that `accept` passes, best first."""
    lists = [lst for lst in lists if lst.ids]
    if not lists:
        return []
    scores = np.concatenate([lst.scores(q) for lst in lists])
    ids = [i for lst in lists for i in lst.ids]
    n = len(ids)
    out: list[tuple[float, str]] = []
    want, seen = (k if accept is None else max(4 * k, 32)), 0
    while True:
        order = top_k(scores, min(n, want))
        for i in order[seen:].tolist():
            if accept is None or accept(ids[i]):
                out.append((float(scores[i]), ids[i]))
                if len(out) == k:
                    return out
        if len(order) == n:
            return out
        seen, want = len(order), want * 8


def _assign(vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The nearest centroid (by cosine) of each vector, in chunks to bound memory."""
    out = np.empty(len(vectors), dtype=np.int64)
    for start in range(0, len(vectors), 8192):
        out[start : start + 8192] = np.argmax(vectors[start : start + 8192] @ centroids.T, 1)
    return out


def _kmeans(vectors: np.ndarray, nlist: int, rng: np.random.Generator) -> np.ndarray:
    """Spherical k-means on a sample of at most 64 vectors per list (10 rounds)."""
    sample_size = min(len(vectors), 64 * nlist)
    sample = vectors[rng.choice(len(vectors), sample_size, replace=False)]
    centroids = sample[rng.choice(sample_size, nlist, replace=False)].copy()
    for _ in range(10):
        labels = _assign(sample, centroids)
        sums = np.zeros_like(centroids)
        np.add.at(sums, labels, sample)
        counts = np.bincount(labels, minlength=nlist)
        empty = counts == 0
        if empty.any():  # reseed empty lists with random vectors
            sums[empty] = sample[rng.choice(sample_size, int(empty.sum()), replace=False)]
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        centroids = sums / np.maximum(norms, 1e-12)
    return centroids.astype(np.float32)
