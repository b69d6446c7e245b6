"""The memory manager: long-term memory per namespace, embedded, indexed, durable.

Write path (`remember`): validate, embed in a worker thread (never inside the database
writer's transaction: embedding is slow), then the syscall handler writes the rows in
its effect transaction, and `added` puts the vectors into the namespace's index after the
commit. A namespace whose index is not in memory yet skips embedding: its load embeds
the rows without vectors in one batch. Read path (`recall`): embed the query, search the
index, fetch the texts.

An index is built from SQLite the first time its namespace is used, so boot stays fast
(see `memory.spaces`). A crash loses only indexes, which are rebuilt from SQLite; a
replayed `Remember` is answered from the journal, so nothing is inserted twice.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmagentos.errors import (
    BackendError,
    InvalidArgument,
    LLMAgentOSError,
    NotFound,
    RequestTooLarge,
)
from llmagentos.kernel.syscalls import MemoryItem
from llmagentos.memory import store
from llmagentos.memory.filters import compile_filter
from llmagentos.memory.spaces import Space, Spaces
from llmagentos.memory.working_set import DictPageStore, PageStore, SQLitePageStore, WorkingSet
from llmagentos.storage.db import Database

if TYPE_CHECKING:  # numpy and the embedders load with the first memory call, not at boot
    import numpy as np

    from llmagentos.memory.embedders import Embedder
    from llmagentos.memory.index import VectorIndex

__all__ = ["MemoryConfig", "MemoryManager", "PreparedMemories"]


@dataclass
class MemoryConfig:
    """Limits and the embedder of long-term memory (a field of `KernelConfig`)."""

    embedder: str | Embedder = "auto"  # "auto": the real model when the extra is installed
    max_text_chars: int = 64_000
    max_metadata_bytes: int = 16_384
    max_query_chars: int = 8_192
    max_k: int = 1_000
    max_batch: int = 1_000
    min_score: float | None = None  # None: the embedder's own noise floor
    working_set_bytes: int = 1 << 20  # per process, see `ProcessContext.working_set`
    # "auto": exact below `ann_min_rows` memories, `ProjectedIndex` above; "ivf": exact
    # below, `IVFIndex` above; "exact": always exact
    index: str = "auto"
    ann_min_rows: int = 20_000
    ann_nprobe: int | None = None  # lists an IVF search reads (None: nlist / 8, at least 8)


@dataclass(frozen=True, slots=True)
class PreparedMemories:
    """Validated, embedded memories, ready to be written in an effect transaction."""

    namespace: str
    rows: tuple[store.MemoryRow, ...]
    model: str
    metadata: tuple[dict[str, Any] | None, ...]


def check_namespace(namespace: str) -> str:
    if not isinstance(namespace, str) or not namespace or len(namespace) > 256:
        raise InvalidArgument(f"a namespace must be a string of 1 to 256 characters: {namespace!r}")
    if any(ord(c) < 32 for c in namespace):
        raise InvalidArgument(f"a namespace may not contain control characters: {namespace!r}")
    return namespace


class MemoryManager:
    """Long-term memory for every process: remember, recall, forget, by namespace."""

    def __init__(self, db: Database, config: MemoryConfig | None = None) -> None:
        self.db = db
        self.config = config or MemoryConfig()
        self._embedder: Embedder | None = None
        self.stats: dict[str, int] = {"repaired": 0, "loaded": 0, "trained": 0}
        if self.config.index not in ("auto", "ivf", "exact"):
            raise InvalidArgument(
                f"memory index must be 'auto', 'ivf' or 'exact': {self.config.index!r}"
            )
        if self.config.ann_min_rows < 0:
            raise InvalidArgument(f"ann_min_rows must be >= 0: {self.config.ann_min_rows}")
        self.spaces = Spaces(db, lambda: self.embedder, self.stats, self._make_index)
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._working: dict[int, tuple[Any, WorkingSet]] = {}
        self._pages: PageStore | None = None

    def _make_index(self, dim: int, rows: int) -> VectorIndex:
        if self.config.index == "exact":
            from llmagentos.memory.index import NumpyIndex

            return NumpyIndex(dim, capacity=max(256, rows))
        if self.config.index == "ivf":
            from llmagentos.memory.ivf import IVFIndex

            return IVFIndex(dim, min_train=self.config.ann_min_rows, nprobe=self.config.ann_nprobe)
        from llmagentos.memory.projected import ProjectedIndex

        return ProjectedIndex(dim, min_train=self.config.ann_min_rows, capacity=max(256, rows))

    @property
    def embedder(self) -> Embedder:
        """The embedder (chosen on first use; the real model loads on its first embed)."""
        if self._embedder is None:
            from llmagentos.memory.embedders import make_embedder

            self._embedder = make_embedder(self.config.embedder)
        return self._embedder

    @property
    def min_score(self) -> float:
        floor = self.config.min_score
        return self.embedder.min_score if floor is None else floor

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed in a worker thread: the model must not stall the event loop."""
        import numpy as np

        embedder = self.embedder
        try:
            vectors = await asyncio.to_thread(embedder.embed, list(texts))
        except LLMAgentOSError:
            raise
        except Exception as exc:  # a model failure is the call's error, not the kernel's
            raise BackendError(f"the embedder {embedder.name} failed: {exc}") from exc
        if vectors.shape != (len(texts), embedder.dim) or not np.isfinite(vectors).all():
            raise BackendError(f"the embedder {embedder.name} returned malformed vectors")
        return vectors

    # -- remember -------------------------------------------------------------------------

    def _check_text(self, text: str) -> None:
        if not isinstance(text, str) or not text.strip():
            raise InvalidArgument("cannot remember an empty text")
        if len(text) > self.config.max_text_chars:
            raise RequestTooLarge(
                f"memory is {len(text)} characters; the limit is {self.config.max_text_chars}"
            )

    def _check_metadata(self, metadata: dict[str, Any] | None) -> str | None:
        if metadata is None or metadata == {}:
            return None
        if not isinstance(metadata, dict):
            raise InvalidArgument(f"metadata must be a dict, got {type(metadata).__name__}")
        try:
            text = json.dumps(metadata, ensure_ascii=False, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(f"metadata must be JSON: {exc}") from None
        if len(text.encode()) > self.config.max_metadata_bytes:
            raise RequestTooLarge(
                f"metadata is {len(text.encode())} bytes; the limit is"
                f" {self.config.max_metadata_bytes}"
            )
        return text

    async def prepare(
        self,
        namespace: str,
        texts: Sequence[str],
        metadata: Sequence[dict[str, Any] | None] | None = None,
        ids: Sequence[str] | None = None,
    ) -> PreparedMemories:
        """Validate memories and embed them if their namespace's index is in memory.

        Otherwise the vectors are computed when the index first loads, in one batch: a
        program that only writes memories never pays for loading the model.
        Ids default to fresh random ones.
        """
        check_namespace(namespace)
        if len(texts) > self.config.max_batch:
            raise RequestTooLarge(
                f"{len(texts)} memories at once; the limit is {self.config.max_batch}"
            )
        metas = list(metadata) if metadata is not None else [None] * len(texts)
        keys = list(ids) if ids is not None else [uuid.uuid4().hex for _ in texts]
        if len(metas) != len(texts) or len(keys) != len(texts):
            raise InvalidArgument("texts, metadata and ids must have the same length")
        meta_texts = []
        for text, meta in zip(texts, metas, strict=True):
            self._check_text(text)
            meta_texts.append(self._check_metadata(meta))
        vectors: Sequence[np.ndarray | None] = [None] * len(texts)
        if self.spaces.indexed(namespace):
            vectors = list(await self.embed(texts))
        rows = tuple(
            store.MemoryRow(key, text, meta, vec)
            for key, text, meta, vec in zip(keys, texts, meta_texts, vectors, strict=True)
        )
        parsed = tuple(json.loads(m) if m else None for m in meta_texts)
        return PreparedMemories(namespace, rows, self.embedder.name, parsed)

    def write(
        self, conn: Any, prepared: PreparedMemories, *, ignore_existing: bool = False
    ) -> list[str]:
        """Store prepared memories (inside the caller's transaction)."""
        return store.write_memories(
            conn, prepared.namespace, prepared.rows, prepared.model, ignore_existing=ignore_existing
        )

    async def added(self, prepared: PreparedMemories, written: Sequence[str]) -> None:
        """After the commit: put what was written into the namespace's index.

        When the index started loading after `prepare` (so the rows came without vectors),
        they are embedded now: the caller must read its own writes.
        """
        ns = prepared.namespace
        if not self.spaces.indexed(ns):
            return  # the load will read these rows, and embed them, from SQLite
        keep = set(written)
        rows = [
            (r, m) for r, m in zip(prepared.rows, prepared.metadata, strict=True) if r.id in keep
        ]
        late = [r for r, _ in rows if r.vector is None]
        fresh: dict[str, np.ndarray] = {}
        if late:
            fresh = dict(
                zip([r.id for r in late], await self.embed([r.text for r in late]), strict=True)
            )
            model = self.embedder.name
            await self.db.write(lambda c: store.replace_vectors(c, model, fresh.items()))
        for row, meta in rows:
            vec = row.vector if row.vector is not None else fresh[row.id]
            self.spaces.apply(ns, ("add", (row.id, vec, meta)))

    async def store(
        self,
        namespace: str,
        texts: Sequence[str],
        metadata: Sequence[dict[str, Any] | None] | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[str]:
        """Remember on the kernel's own behalf (not a syscall): idempotent for given ids."""
        prepared = await self.prepare(namespace, texts, metadata, ids)
        written = await self.db.write(lambda c: self.write(c, prepared, ignore_existing=True))
        await self.added(prepared, written)
        return written

    # -- forget ---------------------------------------------------------------------------

    def write_forget(self, conn: Any, namespace: str, memory_id: str) -> bool:
        check_namespace(namespace)
        if not isinstance(memory_id, str) or not memory_id:
            raise InvalidArgument("a memory id must be a non-empty string")
        return store.delete_memory(conn, namespace, memory_id)

    def forgotten(self, namespace: str, memory_id: str) -> None:
        """After the commit: drop the memory from the index."""
        self.spaces.apply(namespace, ("remove", memory_id))

    # -- recall ---------------------------------------------------------------------------

    def check_query(self, query: str, k: int) -> None:
        if not isinstance(query, str) or not query.strip():
            raise InvalidArgument("a recall query must not be empty")
        if len(query) > self.config.max_query_chars:
            raise RequestTooLarge(
                f"query is {len(query)} characters; the limit is {self.config.max_query_chars}"
            )
        if not isinstance(k, int) or isinstance(k, bool) or not 0 < k <= self.config.max_k:
            raise InvalidArgument(f"k must be between 1 and {self.config.max_k}, got {k!r}")

    async def query_vector(self, query: str) -> np.ndarray:
        """The query's embedding (recent queries are cached)."""
        vec = self._queries.get(query)
        if vec is None:
            vec = (await self.embed([query]))[0]
            self._queries[query] = vec
            if len(self._queries) > 512:
                self._queries.popitem(last=False)
        else:
            self._queries.move_to_end(query)
        return vec

    async def recall(
        self,
        namespace: str,
        query: str,
        k: int = 5,
        where: dict[str, Any] | None = None,
        *,
        must_exist: bool = False,
        min_score: float | None = None,
    ) -> list[MemoryItem]:
        """The memories nearest `query`, best first, scoring at least the noise floor.

        `must_exist`: a namespace nobody has written to is a `NotFound` (callers naming a
        namespace explicitly are told about a typo instead of getting nothing).
        """
        check_namespace(namespace)
        self.check_query(query, k)
        accept = compile_filter(where)
        if must_exist and not self.db.query_one(
            "SELECT 1 FROM memory_namespaces WHERE namespace = ?", (namespace,)
        ):
            raise NotFound(f"no memory namespace {namespace!r}", namespace=namespace)
        vec_task = asyncio.ensure_future(self.query_vector(query))
        try:
            space = await self.spaces.get(namespace)
        finally:
            vec = await vec_task
        floor = self.min_score if min_score is None else min_score
        hits = await space.search(vec, k, accept)
        return self.items(space, [(i, s) for i, s in hits if s >= floor])

    def search_loaded(
        self, namespace: str, vec: np.ndarray, k: int, where: dict[str, Any] | None = None
    ) -> list[MemoryItem]:
        """Search a namespace whose index is loaded (sync; `[]` when it is not loaded)."""
        space = self.spaces.ready(namespace)
        if space is None:
            return []
        hits = space.search_now(vec, k, compile_filter(where))
        return self.items(space, [(i, s) for i, s in hits if s >= self.min_score])

    def items(self, space: Space, hits: list[tuple[str, float]]) -> list[MemoryItem]:
        texts = store.texts_of(self.db.reader(), [i for i, _ in hits]) if hits else {}
        return [
            MemoryItem(id=i, text=texts[i], metadata=space.metadata.get(i), score=round(s, 6))
            for i, s in hits
            if i in texts  # forgotten since the search
        ]

    # -- working sets ---------------------------------------------------------------------

    def working_set(self, proc: Any) -> WorkingSet:
        """The working set of a process (created empty on first use in this kernel)."""
        found = self._working.get(proc.pid)
        if found is not None:
            return found[1]
        if self._pages is None:
            swap = Path(self.db.path).with_name("swap.db")
            self._pages = DictPageStore() if self.db.path == ":memory:" else SQLitePageStore(swap)
        ws = WorkingSet(proc.pid, self.config.working_set_bytes, self._pages)
        self._working[proc.pid] = (proc, ws)
        return ws

    def sweep(self) -> None:
        """Free the working sets of processes that ended (the control loop calls this)."""
        for pid, (proc, ws) in list(self._working.items()):
            if proc.state.terminal:
                ws.clear()
                del self._working[pid]

    # -- indexes --------------------------------------------------------------------------

    def loaded(self, namespace: str) -> bool:
        return self.spaces.loaded(namespace)

    async def space(self, namespace: str) -> Space:
        """The namespace's index, loading it from SQLite on first use."""
        return await self.spaces.get(namespace)

    async def settle(self) -> None:
        """Wait for index trainings in flight (tests and benchmarks; never needed for
        correctness: searches and writes go on during a training)."""
        await self.spaces.settle()
