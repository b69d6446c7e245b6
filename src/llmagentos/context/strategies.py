"""Context strategies: what fills the room that evicted turns leave behind.

A strategy says whether the kernel should keep a running summary of evicted turns (a
low-priority background model call) and whether it should recall evicted turns relevant
to the latest user message, and composes the *context block* (one system message placed
after the system prompt) from those within the tokens it is given. Any object with
these members is a strategy; `make_strategy` builds the shipped ones from a name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from llmagentos.context.window import truncate
from llmagentos.errors import InvalidArgument

__all__ = [
    "ContextStrategy",
    "Recall",
    "SlidingWindow",
    "Summarize",
    "SummarizeAndRecall",
    "make_strategy",
]

Count = Callable[[str], int]
SUMMARY_HEADER = "Summary of the earlier conversation (older messages were moved out):"
RECALL_HEADER = "Earlier messages that may be relevant now:"


@runtime_checkable
class ContextStrategy(Protocol):
    """Decides what replaces evicted turns (see the module docstring)."""

    name: str
    summarizes: bool
    recalls: bool

    def compose(
        self, summary: str | None, recalled: Sequence[str], room: int, count: Count
    ) -> str | None:
        """The context block's text costing at most `room` tokens, or None for no block."""


def _summary_part(summary: str | None, room: int, count: Count) -> str | None:
    if not summary or room <= count(SUMMARY_HEADER):
        return None
    text = truncate(f"{SUMMARY_HEADER}\n{summary}", room, count)
    return text if len(text) > len(SUMMARY_HEADER) + 8 else None


def _recall_part(recalled: Sequence[str], room: int, count: Count) -> str | None:
    lines = [RECALL_HEADER]
    for item in recalled:  # best first: add while they fit, cut the first that does not
        line = "- " + " ".join(item.split())
        if count("\n".join([*lines, line])) <= room:
            lines.append(line)
            continue
        rest = room - count("\n".join(lines)) - 2
        if rest > 8:
            lines.append(truncate(line, rest, count))
        break
    text = "\n".join(lines)
    return text if len(lines) > 1 and count(text) <= room else None


class SlidingWindow:
    """Keep the newest turns that fit; evicted ones are simply left out."""

    name = "sliding"
    summarizes = False
    recalls = False

    def compose(
        self, summary: str | None, recalled: Sequence[str], room: int, count: Count
    ) -> str | None:
        return None


class Summarize:
    """Replace evicted turns with a running summary."""

    name = "summarize"
    summarizes = True
    recalls = False

    def compose(
        self, summary: str | None, recalled: Sequence[str], room: int, count: Count
    ) -> str | None:
        return _summary_part(summary, room, count)


class Recall:
    """Bring back the evicted turns most relevant to the latest user message."""

    name = "recall"
    summarizes = False
    recalls = True

    def compose(
        self, summary: str | None, recalled: Sequence[str], room: int, count: Count
    ) -> str | None:
        return _recall_part(recalled, room, count)


class SummarizeAndRecall:
    """The summary (up to half the room), then recalled turns in what is left."""

    name = "summarize+recall"
    summarizes = True
    recalls = True

    def compose(
        self, summary: str | None, recalled: Sequence[str], room: int, count: Count
    ) -> str | None:
        head = _summary_part(summary, room // 2, count)
        left = room - (count(head) + 2 if head else 0)
        tail = _recall_part(recalled, left, count)
        parts = [p for p in (head, tail) if p]
        if not parts:
            return None
        text = "\n\n".join(parts)
        return text if count(text) <= room else head


_NAMED: dict[str, type[ContextStrategy]] = {
    s.name: s for s in (SlidingWindow, Summarize, Recall, SummarizeAndRecall)
}


def make_strategy(spec: str | ContextStrategy) -> ContextStrategy:
    """A strategy from its name, or the given one."""
    if not isinstance(spec, str):
        if not isinstance(spec, ContextStrategy):
            raise InvalidArgument(f"{spec!r} is not a ContextStrategy")
        return spec
    cls = _NAMED.get(spec)
    if cls is None:
        names = ", ".join(sorted(_NAMED))
        raise InvalidArgument(f"unknown context strategy {spec!r}; known: {names}")
    return cls()
