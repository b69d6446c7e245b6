"""Kernel configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmagentos.context.config import ContextConfig
from llmagentos.memory.manager import MemoryConfig
from llmagentos.storage.config import StorageConfig


@dataclass
class KernelConfig:
    """How a kernel boots. Defaults give a durable, journaled OS in `.llmagentos/`."""

    state_dir: str | Path = ".llmagentos"
    db_name: str = "os.db"
    journal: bool = True
    recover: bool = True
    scheduler: str = "las"
    scheduler_options: dict[str, Any] = field(default_factory=dict)
    default_model: str | None = None
    # Loaded on first use when a call names no model and none is configured at all: the
    # built-in offline model (needs the `local` extra). None: such calls fail instead.
    fallback_model: str | None = "builtin:tiny"
    tool_timeout_s: float = 60.0
    max_request_tokens: int = 1_000_000
    control_poll_s: float = 0.25
    durable: bool = False  # True: fsync every commit (survives power loss, slower)
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    context: ContextConfig = field(default_factory=ContextConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)

    @property
    def db_path(self) -> Path:
        return Path(self.state_dir) / self.db_name
