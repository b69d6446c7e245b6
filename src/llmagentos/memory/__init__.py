"""Memory: long-term vector memory per namespace, and the per-process working set.

* `MemoryManager` serves the `Remember` / `Recall` / `Forget` syscalls: SQLite is the
  source of truth, an in-memory `VectorIndex` per namespace answers queries, an `Embedder`
  turns text into vectors (the real MiniLM model with the `memory` extra, else a hashed
  lexical fallback).
* `WorkingSet` is a process's short-term memory: held in RAM up to a byte budget, paged out
  to a `PageStore` by LRU-K and paged back in on access.
"""

from llmagentos.memory.embedders import (
    Embedder,
    HashEmbedder,
    MiniLMEmbedder,
    make_embedder,
    real_embedder_available,
)
from llmagentos.memory.filters import compile_filter
from llmagentos.memory.index import NumpyIndex, VectorIndex
from llmagentos.memory.manager import MemoryConfig, MemoryManager, PreparedMemories
from llmagentos.memory.store import SCHEMA

__all__ = [
    "SCHEMA",
    "Embedder",
    "HashEmbedder",
    "MemoryConfig",
    "MemoryManager",
    "MiniLMEmbedder",
    "NumpyIndex",
    "PreparedMemories",
    "VectorIndex",
    "compile_filter",
    "make_embedder",
    "real_embedder_available",
]
