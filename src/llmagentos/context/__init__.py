"""Context: fitting each process's conversation into its model's window.

`ContextManager` is the kernel's: it counts (`TokenCounter`), fits (`fit_window`: the
system prompt and the current turn pinned, the newest turns kept, the oldest evicted to
long-term memory) and fills the freed room with what a `ContextStrategy` composes (a
running summary written by a low-priority model call, recalled turns).
"""

from llmagentos.context.config import ContextConfig
from llmagentos.context.strategies import (
    ContextStrategy,
    Recall,
    SlidingWindow,
    Summarize,
    SummarizeAndRecall,
    make_strategy,
)
from llmagentos.context.summary import SCHEMA
from llmagentos.context.tokens import TokenCounter
from llmagentos.context.window import Fit, Unit, fit_window, truncate, units_of

__all__ = [
    "SCHEMA",
    "ContextConfig",
    "ContextStrategy",
    "Fit",
    "Recall",
    "SlidingWindow",
    "Summarize",
    "SummarizeAndRecall",
    "TokenCounter",
    "Unit",
    "fit_window",
    "make_strategy",
    "truncate",
    "units_of",
]
