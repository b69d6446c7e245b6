"""The engine's limits and policy, and the counters it reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Engine limits and policy. `kv_budget_bytes` bounds batch rows plus parked KV."""

    max_batch: int = 32
    max_batch_tokens: int = 512
    policy: str = "las"
    policy_options: dict[str, Any] = field(default_factory=dict)
    min_steps: int = 4
    prefix_cache: bool = True
    prefix_block: int = 16
    kv_budget_bytes: int = 2 << 30
    kv_ttl_s: float = 600.0
    initial_cap: int = 256
    trim_after_s: float = 5.0  # idle this long: the batch rows' memory is given back
    cascade_min: int = 64  # shortest shared prefix that decode attention reads only once


@dataclass(frozen=True, slots=True)
class EngineStats:
    """Counters since start, and the current load and KV memory."""

    steps: int
    generated_tokens: int
    prompt_tokens: int
    cached_tokens: int
    computed_tokens: int
    preemptions: int
    cascade_steps: int  # steps whose decode read a shared prefix once for all
    evictions: int
    running: int
    waiting: int
    parked: int
    rows_in_use: int
    pool_bytes: int
    store_bytes: int

    @property
    def prefix_hit_rate(self) -> float:
        """Share of prompt tokens whose KV came from the prefix cache."""
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else 0.0

    @property
    def kv_bytes(self) -> int:
        return self.pool_bytes + self.store_bytes
