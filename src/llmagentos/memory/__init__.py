"""Memory: long-term vector memory per namespace, and the per-process working set.

* `MemoryManager` serves the `Remember` / `Recall` / `Forget` syscalls: SQLite is the
  source of truth, an in-memory `VectorIndex` per namespace answers queries (exact, or a
  `ProjectedIndex` once the namespace is large), an `Embedder`
  turns text into vectors (the real MiniLM model with the `memory` extra, else a hashed
  lexical fallback).
* `WorkingSet` is a process's short-term memory: held in RAM up to a byte budget, paged out
  to a `PageStore` by LRU-K and paged back in on access.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from llmagentos.memory.manager import MemoryConfig, MemoryManager, PreparedMemories
from llmagentos.memory.store import SCHEMA
from llmagentos.memory.working_set import (
    LRUK,
    DictPageStore,
    PageStore,
    SQLitePageStore,
    WorkingSet,
)

if TYPE_CHECKING:
    from llmagentos.memory.embedders import (
        Embedder,
        HashEmbedder,
        MiniLMEmbedder,
        make_embedder,
        real_embedder_available,
    )
    from llmagentos.memory.filters import compile_filter
    from llmagentos.memory.index import NumpyIndex, TrainableIndex, VectorIndex
    from llmagentos.memory.ivf import IVFIndex
    from llmagentos.memory.projected import ProjectedIndex

# numpy-backed parts load on first use, so `import llmagentos` stays light.
_LAZY = {
    "Embedder": "embedders",
    "HashEmbedder": "embedders",
    "MiniLMEmbedder": "embedders",
    "make_embedder": "embedders",
    "real_embedder_available": "embedders",
    "compile_filter": "filters",
    "NumpyIndex": "index",
    "TrainableIndex": "index",
    "VectorIndex": "index",
    "IVFIndex": "ivf",
    "ProjectedIndex": "projected",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llmagentos.memory' has no attribute {name!r}")
    return getattr(import_module(f"llmagentos.memory.{module}"), name)


__all__ = [
    "LRUK",
    "SCHEMA",
    "DictPageStore",
    "Embedder",
    "HashEmbedder",
    "IVFIndex",
    "MemoryConfig",
    "MemoryManager",
    "MiniLMEmbedder",
    "NumpyIndex",
    "PageStore",
    "PreparedMemories",
    "ProjectedIndex",
    "SQLitePageStore",
    "TrainableIndex",
    "VectorIndex",
    "WorkingSet",
    "compile_filter",
    "make_embedder",
    "real_embedder_available",
]
