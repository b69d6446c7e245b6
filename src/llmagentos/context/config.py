"""Settings of the context manager (a field of `KernelConfig`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmagentos.context.strategies import ContextStrategy


@dataclass
class ContextConfig:
    """How conversations are fitted into model windows.

    `window` applies to backends that do not declare a `context_window` (None: leave
    them alone). `strategy` is `"sliding"`, `"summarize"`, `"recall"`,
    `"summarize+recall"` (the default) or a `ContextStrategy`.
    """

    window: int | None = None
    strategy: str | ContextStrategy = "summarize+recall"
    chars_per_token: float = 3.0  # the estimate when a backend cannot count (pessimistic)
    reserve_share: float = 0.25  # at most this share of the window is kept for the answer
    block_share: float = 0.4  # of the room left by pinned messages: summary + recalled turns
    recall_k: int = 4
    summary_tokens: int = 256  # max_tokens of a summary call (capped at a quarter window)
    summary_trigger_share: float = 0.25  # summarize once evicted, unsummarized messages
    # take this share of the window (one summary call per that many tokens of conversation)
    summary_priority: int = -10  # added to the process's priority for its summary calls
    evict_to_memory: bool = True  # evicted turns go to the process's long-term memory
