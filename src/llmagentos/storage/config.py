"""Storage settings of a kernel: file quotas per namespace and journal compaction."""

from __future__ import annotations

from dataclasses import dataclass, field

from llmagentos.storage.files import FileQuota, quota_for

__all__ = ["FileQuota", "StorageConfig"]


@dataclass
class StorageConfig:
    """Quotas of versioned files, and when the journal is compacted (a `KernelConfig` field)."""

    file_quota: FileQuota = field(default_factory=FileQuota)
    # glob -> quota; the first pattern matching a namespace wins over `file_quota`
    namespace_quotas: dict[str, FileQuota] = field(default_factory=dict)
    compact_interval_s: float = 300.0  # compact at most this often...
    compact_min_rows: int = 10_000  # ...and only once the journal has this many rows
    compact_keep_s: float = 3600.0  # rows of processes that ended this recently stay

    def quota(self, namespace: str) -> FileQuota:
        return quota_for(namespace, self.file_quota, self.namespace_quotas)
