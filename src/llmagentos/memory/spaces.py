"""The in-memory side of long-term memory: one vector index per namespace.

An index is built from SQLite the first time its namespace is used (rows whose vector is
missing, damaged or made by another embedder are embedded again and written back), then
kept current by the write path. Commits that land while an index loads are queued and
applied after the load, in order; upserts and removals by id make that exact.

Which index a namespace gets comes from `make_index`: by default a `ProjectedIndex`, exact
until the namespace passes `MemoryConfig.ann_min_rows`. An index that wants (re)training
is trained in a worker thread after a write; searches and writes go on meanwhile (the
index takes the writes into account when it installs the training).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmagentos.memory import store
from llmagentos.memory.filters import Predicate
from llmagentos.storage.db import Database

if TYPE_CHECKING:
    import numpy as np

    from llmagentos.memory.embedders import Embedder
    from llmagentos.memory.index import VectorIndex

__all__ = ["Space", "Spaces"]

_INLINE_SEARCH_ROWS = 4096  # smaller searches run on the loop: microseconds
Op = tuple[str, Any]  # ("add", (id, vector, metadata)) or ("remove", id)
log = logging.getLogger("llmagentos.memory")
_MISSING = object()


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


@dataclass
class Space:
    """One namespace's index and the metadata its filters read."""

    index: VectorIndex
    metadata: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)  # searches run in threads
    training: asyncio.Future[None] | None = None
    # key -> value -> ids: built for a key the first time a filter tests it for equality
    postings: dict[str, dict[Any, set[str]]] = field(default_factory=dict)

    def apply(self, op: Op) -> None:
        kind, arg = op
        with self.lock:
            if kind == "add":
                memory_id, vec, meta = arg
                self.index.add([memory_id], vec.reshape(1, -1))
                self._post(memory_id, self.metadata.get(memory_id), False)
                self.metadata[memory_id] = meta
                self._post(memory_id, meta, True)
            else:
                self.index.remove([arg])
                self._post(arg, self.metadata.pop(arg, None), False)

    def _post(self, memory_id: str, meta: dict[str, Any] | None, add: bool) -> None:
        """Keep the posting lists current (only keys that have been filtered on)."""
        if not meta or not self.postings:
            return
        for key, posting in self.postings.items():
            value = meta.get(key, _MISSING)
            if value is _MISSING or not _hashable(value):
                continue
            if add:
                posting.setdefault(value, set()).add(memory_id)
            elif (ids := posting.get(value)) is not None:
                ids.discard(memory_id)
                if not ids:
                    del posting[value]

    def _posting(self, key: str) -> dict[Any, set[str]]:
        posting = self.postings.get(key)
        if posting is None:  # one pass over the namespace, then kept current by `apply`
            posting = self.postings[key] = {}
            for memory_id, meta in self.metadata.items():
                value = meta.get(key, _MISSING) if meta else _MISSING
                if value is not _MISSING and _hashable(value):
                    posting.setdefault(value, set()).add(memory_id)
        return posting

    def _among(self, where: Predicate | None) -> set[str] | None:
        """The ids a selective filter's equality clauses leave (a superset of its matches),
        or None when scanning the index is the better plan. Call under the lock."""
        from llmagentos.memory.index import SubsetIndex

        equalities = getattr(where, "equalities", ())
        if not equalities or not isinstance(self.index, SubsetIndex):
            return None
        found: set[str] | None = None
        for key, values in equalities:
            posting = self._posting(key)
            ids: set[str] = set()
            for value in values:
                ids |= posting.get(value, set())
            found = ids if found is None else found & ids
            if not found:
                break
        limit = max(_INLINE_SEARCH_ROWS, len(self.index) // 8)
        return found if found is not None and len(found) <= limit else None

    def wants_training(self) -> bool:
        from llmagentos.memory.index import TrainableIndex

        return isinstance(self.index, TrainableIndex) and self.index.wants_training()

    def retrain(self) -> None:
        """Train the index (in a worker thread): the lock is held only to snapshot and swap."""
        from llmagentos.memory.index import TrainableIndex

        index = self.index
        if not isinstance(index, TrainableIndex):
            return
        with self.lock:
            job = index.begin_training()
        try:
            job.run()
        except BaseException:
            with self.lock:
                index.abort_training()
            raise
        with self.lock:
            index.finish_training(job)

    def _scan(self, where: Predicate | None) -> int:
        from llmagentos.memory.index import TrainableIndex

        if where is not None:
            with self.lock:
                among = self._among(where)
            return len(among) if among is not None else len(self.index)
        if isinstance(self.index, TrainableIndex):
            return self.index.expected_scan()
        return len(self.index)

    def _accept(self, where: Predicate | None) -> Callable[[str], bool] | None:
        if where is None:
            return None
        meta = self.metadata
        return lambda memory_id: where(meta.get(memory_id))

    def search_now(
        self, vec: np.ndarray, k: int, where: Predicate | None = None
    ) -> list[tuple[str, float]]:
        """Search on the calling thread: a selective filter's candidates, else the index."""
        from llmagentos.memory.index import SubsetIndex

        with self.lock:
            among = self._among(where)
            if among is not None and isinstance(self.index, SubsetIndex):
                return self.index.search_among(vec, among, k, self._accept(where))
            return self.index.search(vec, k, self._accept(where))

    async def search(
        self, vec: np.ndarray, k: int, where: Predicate | None = None
    ) -> list[tuple[str, float]]:
        """Search; a large scan in a worker thread (numpy releases the GIL there)."""
        if self._scan(where) <= _INLINE_SEARCH_ROWS:
            return self.search_now(vec, k, where)
        return await asyncio.to_thread(self.search_now, vec, k, where)


class Spaces:
    """The loaded indexes, by namespace."""

    def __init__(
        self,
        db: Database,
        embedder: Callable[[], Embedder],
        stats: dict[str, int],
        make_index: Callable[[int, int], VectorIndex],
    ) -> None:
        self.db = db
        self._embedder = embedder
        self.stats = stats
        self._make_index = make_index  # (dim, rows at load) -> an empty index
        self._spaces: dict[str, Space] = {}
        self._loading: dict[str, asyncio.Future[Space]] = {}
        self._pending: dict[str, list[Op]] = {}

    def indexed(self, namespace: str) -> bool:
        """Loaded or loading: writes to it must come with their vectors."""
        return namespace in self._spaces or namespace in self._loading

    def loaded(self, namespace: str) -> bool:
        return namespace in self._spaces and namespace not in self._loading

    def ready(self, namespace: str) -> Space | None:
        """The index if it is loaded, else None (never waits)."""
        return self._spaces.get(namespace) if self.loaded(namespace) else None

    def apply(self, namespace: str, op: Op) -> None:
        """A committed write: into the index, or queued while the index loads."""
        if namespace in self._loading:
            self._pending.setdefault(namespace, []).append(op)
            return
        space = self._spaces.get(namespace)
        if space is not None:  # not loaded: the load will read the commit from SQLite
            space.apply(op)
            self._maybe_train(namespace, space)

    def _maybe_train(self, namespace: str, space: Space) -> None:
        if space.training is not None or not space.wants_training():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called off the loop: train here
            space.retrain()
            self.stats["trained"] += 1
            return
        task = loop.create_task(asyncio.to_thread(space.retrain))
        space.training = task

        def done(task: asyncio.Future[None]) -> None:
            space.training = None
            if task.cancelled():
                return
            exc = task.exception()
            if exc is None:
                self.stats["trained"] += 1
            else:  # the index goes on untrained (or with its old lists): still correct
                log.warning("training the index of %r failed: %r", namespace, exc)

        task.add_done_callback(done)

    async def settle(self) -> None:
        """Wait for the index trainings in flight."""
        while tasks := [s.training for s in self._spaces.values() if s.training is not None]:
            await asyncio.wait(tasks)

    async def get(self, namespace: str) -> Space:
        """The namespace's index, loading it from SQLite on first use."""
        space = self.ready(namespace)
        if space is not None:
            return space
        pending = self._loading.get(namespace)
        if pending is not None:
            return await asyncio.shield(pending)
        fut: asyncio.Future[Space] = asyncio.get_running_loop().create_future()
        self._loading[namespace] = fut
        try:
            loaded, repaired = await asyncio.to_thread(self._load, namespace)
            for op in self._pending.pop(namespace, []):
                loaded.apply(op)
            self._spaces[namespace] = loaded
        except BaseException as exc:
            self._pending.pop(namespace, None)
            fut.set_exception(exc)
            fut.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            self._loading.pop(namespace, None)
        fut.set_result(loaded)
        if repaired:
            model = self._embedder().name
            await self.db.write(lambda c: store.replace_vectors(c, model, repaired))
        return loaded

    def _load(self, namespace: str) -> tuple[Space, list[tuple[str, np.ndarray]]]:
        """Read a namespace's rows (in a worker thread); embed again the rows that need it."""
        import numpy as np

        embedder = self._embedder()
        conn = self.db.reader()
        rows = store.load_namespace(conn, namespace, embedder.name, embedder.dim)
        space = Space(self._make_index(embedder.dim, len(rows)))
        stale = [r.id for r in rows if r.vector is None]
        fresh: dict[str, np.ndarray] = {}
        if stale:
            texts = store.texts_of(conn, stale)
            ids = [i for i in stale if i in texts]
            for start in range(0, len(ids), 256):
                chunk = ids[start : start + 256]
                fresh.update(zip(chunk, embedder.embed([texts[i] for i in chunk]), strict=True))
        ids, vecs = [], []
        for row in rows:
            vec = row.vector if row.vector is not None else fresh.get(row.id)
            if vec is None:
                continue
            ids.append(row.id)
            vecs.append(vec)
            space.metadata[row.id] = row.metadata
            self.stats["repaired"] += int(row.damaged)
        if ids:
            space.index.add(ids, np.vstack(vecs))
        if space.wants_training():  # not published yet: no lock to share
            space.retrain()
            self.stats["trained"] += 1
        self.stats["loaded"] += 1
        return space, list(fresh.items())
