"""KV memory: the running batch's rows, and compact copies of the KV kept between calls.

Why rows and not pages. transformers' continuous batching (`PagedAttentionCache`) keeps
KV in pages and, without a paged-attention kernel (CPU, or no flash-attn), gathers every
sequence's pages into a dense tensor at each layer of each step. Here each running
sequence owns one row of a dense `[layers, 2, rows, kv_heads, cap, head_dim]` tensor, so
a decode step reads the cache where it lies, with one attention call per layer for the
whole batch. Sequences that are not running (preempted, or finished and kept for the
agent's next turn) hold a compact copy of exactly their length in `KVStore`; moving
between the two is one copy of that sequence's KV, far cheaper than recomputing it.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass(frozen=True, slots=True)
class KVLayout:
    """Shape and type of one model's KV state."""

    layers: int
    kv_heads: int
    head_dim: int
    dtype: torch.dtype
    device: torch.device

    @property
    def bytes_per_token(self) -> int:
        itemsize = torch.empty((), dtype=self.dtype).element_size()
        return self.layers * 2 * self.kv_heads * self.head_dim * itemsize

    @classmethod
    def of(cls, config: Any, dtype: torch.dtype, device: torch.device) -> KVLayout:
        """The layout of a transformers model config."""
        text = config.get_text_config() if hasattr(config, "get_text_config") else config
        heads = text.num_attention_heads
        head_dim = getattr(text, "head_dim", None) or text.hidden_size // heads
        kv_heads = getattr(text, "num_key_value_heads", None) or heads
        return cls(text.num_hidden_layers, kv_heads, head_dim, dtype, device)


class KVPool:
    """Rows of dense KV for the running batch; the row length grows by doubling.

    Rows are handed out lowest first so the rows in use stay packed at the front: a decode
    step attends over rows `[0, high)` in one call.
    """

    def __init__(self, layout: KVLayout, rows: int, initial_cap: int = 256, max_cap: int = 4096):
        self.layout = layout
        self.rows = rows
        self.initial_cap = max(16, min(initial_cap, max_cap))
        self.max_cap = max_cap
        self.cap = 0
        self.kv: torch.Tensor | None = None  # allocated on first use
        self._free = list(range(rows))
        self._used: set[int] = set()

    @property
    def nbytes(self) -> int:
        return 0 if self.kv is None else self.kv.numel() * self.kv.element_size()

    @property
    def in_use(self) -> int:
        return len(self._used)

    @property
    def high(self) -> int:
        """One past the highest row in use."""
        return max(self._used) + 1 if self._used else 0

    def alloc(self) -> int | None:
        """A free row, or None when all are taken."""
        if not self._free:
            return None
        row = heapq.heappop(self._free)
        self._used.add(row)
        return row

    def free(self, row: int) -> None:
        self._used.remove(row)
        heapq.heappush(self._free, row)

    def ensure(self, length: int) -> None:
        """Make every row able to hold `length` tokens."""
        if self.kv is not None and length <= self.cap:
            return
        cap = max(self.cap, self.initial_cap)
        while cap < length:
            cap *= 2
        cap = min(max(cap, length), max(self.max_cap, length))
        lay = self.layout
        shape = (lay.layers, 2, self.rows, lay.kv_heads, cap, lay.head_dim)
        # Zeroed, not empty: attention masks a row's unused tail, but a masked NaN still
        # poisons the result (its weight is 0, and 0 * NaN is NaN), and stale memory can
        # hold NaN bit patterns.
        grown = torch.zeros(shape, dtype=lay.dtype, device=lay.device)
        if self.kv is not None:
            grown[..., : self.cap, :].copy_(self.kv)
        self.kv, self.cap = grown, cap

    def trim(self) -> None:
        """Give the memory back when no row is in use."""
        if not self._used:
            self.kv, self.cap = None, 0

    def save(self, row: int, length: int) -> torch.Tensor:
        """A compact copy of `row[:length]`, shaped `[layers, 2, kv_heads, length, head_dim]`."""
        assert self.kv is not None
        return self.kv[:, :, row, :, :length].clone()

    def load(self, row: int, kv: torch.Tensor, length: int) -> None:
        """Put the first `length` tokens of a compact copy into `row`."""
        self.ensure(length)
        assert self.kv is not None
        self.kv[:, :, row, :, :length].copy_(kv[:, :, :, :length])

    def copy(self, src: int, dst: int, length: int) -> None:
        """Share a prefix between rows: `dst[:length] = src[:length]`."""
        assert self.kv is not None
        self.kv[:, :, dst, :, :length].copy_(self.kv[:, :, src, :, :length])


@dataclass(slots=True)
class StoredKV:
    """A compact KV copy kept outside the batch."""

    kv: torch.Tensor
    length: int
    stored_at: float = field(default_factory=time.monotonic)

    @property
    def nbytes(self) -> int:
        return self.kv.numel() * self.kv.element_size()


class KVStore:
    """Compact KV copies by sequence id, with their total size; eviction order is the engine's."""

    def __init__(self) -> None:
        self._entries: dict[int, StoredKV] = {}
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, seq_id: int) -> bool:
        return seq_id in self._entries

    def put(self, seq_id: int, kv: torch.Tensor, length: int) -> None:
        self.pop(seq_id)
        entry = StoredKV(kv, length)
        self._entries[seq_id] = entry
        self.nbytes += entry.nbytes

    def get(self, seq_id: int) -> StoredKV | None:
        return self._entries.get(seq_id)

    def pop(self, seq_id: int) -> StoredKV | None:
        entry = self._entries.pop(seq_id, None)
        if entry is not None:
            self.nbytes -= entry.nbytes
        return entry

    def oldest(self) -> list[int]:
        """Ids from the longest stored to the newest."""
        return sorted(self._entries, key=lambda i: self._entries[i].stored_at)
