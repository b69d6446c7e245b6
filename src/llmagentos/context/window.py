"""Fitting a conversation into a token budget: a pure function, no I/O.

Messages are grouped into *units* that are kept or evicted whole: an assistant message
that calls tools and the tool results answering it form one unit (a result without its
call, or a call without its results, is an error for most model APIs). Some units are
*pinned* and never evicted:

* the leading system messages (the system prompt),
* the last user message (what the model is asked now),
* the last unit, when it is a tool exchange (the pending call and its results),
* the last message, whatever it is (the model answers it).

Everything else is evictable. When the conversation does not fit, the newest evictable
units are kept, as many as fit after the pinned ones and the context block (the running
summary and recalled turns, built by the caller for the room it is given); a kept run
never starts with a reply whose question was evicted. If the pinned units alone do not
fit, nothing is sent: `RequestTooLarge`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from llmagentos.errors import RequestTooLarge
from llmagentos.llm.types import Message

__all__ = ["Fit", "Unit", "fit_window", "leading_system", "truncate", "units_of"]

Cost = Callable[[Message], int]
Block = Callable[[int], Message | None]  # room in tokens -> the context block, or None


@dataclass(frozen=True, slots=True)
class Unit:
    """Messages `[start, stop)` kept or evicted together."""

    start: int
    stop: int
    cost: int
    pinned: bool


@dataclass(frozen=True, slots=True)
class Fit:
    """The outcome of fitting: what to send, and which messages were left out."""

    messages: tuple[Message, ...]
    kept: tuple[int, ...]  # indices into the original conversation
    evicted: tuple[int, ...]
    block: Message | None = None


def units_of(messages: Sequence[Message], cost: Cost) -> list[Unit]:
    """Group messages into units and mark the pinned ones (see the module docstring)."""
    n = len(messages)
    lead = leading_system(messages)
    spans: list[tuple[int, int]] = [(i, i + 1) for i in range(lead)]
    i = lead
    while i < n:
        stop = i + 1
        calls = messages[i].role == "assistant" and bool(messages[i].tool_calls)
        if calls or messages[i].role == "tool":  # a call and its results, or orphan results
            while stop < n and messages[stop].role == "tool":
                stop += 1
        spans.append((i, stop))
        i = stop
    last_user = max((j for j in range(lead, n) if messages[j].role == "user"), default=-1)
    last = len(spans) - 1  # the message the model answers, or the pending exchange
    return [
        Unit(
            start,
            stop,
            sum(cost(m) for m in messages[start:stop]),
            start < lead or start <= last_user < stop or k == last,
        )
        for k, (start, stop) in enumerate(spans)
    ]


def leading_system(messages: Sequence[Message]) -> int:
    """How many messages the system prompt takes at the start."""
    lead = 0
    while lead < len(messages) and messages[lead].role == "system":
        lead += 1
    return lead


def fit_window(
    messages: Sequence[Message], budget: int, cost: Cost, block: Block | None = None
) -> Fit:
    """Fit `messages` into `budget` tokens (see the module docstring)."""
    units = units_of(messages, cost)
    everything = tuple(range(len(messages)))
    if sum(u.cost for u in units) <= budget:
        return Fit(tuple(messages), everything, ())
    pinned = sum(u.cost for u in units if u.pinned)
    if pinned > budget:
        raise RequestTooLarge(
            f"the system prompt and the current turn alone take about {pinned} tokens;"
            f" the model's window leaves {budget} for the prompt",
            pinned_tokens=pinned,
            budget=budget,
        )
    room = budget - pinned
    made = block(room) if block is not None else None
    block_cost = cost(made) if made is not None else 0
    if block_cost > room:  # a block that does not fit its room is dropped, never sent
        made, block_cost = None, 0
    free = room - block_cost
    keep: set[int] = set()
    for k in range(len(units) - 1, -1, -1):
        unit = units[k]
        if unit.pinned:
            continue
        if unit.cost > free:
            break  # keep a contiguous run of the newest turns, no holes
        free -= unit.cost
        keep.add(k)
    # The kept run starts at a user message: a reply without its question misleads.
    for k in sorted(keep):
        if messages[units[k].start].role == "user":
            break
        keep.discard(k)
    kept_units = [u for k, u in enumerate(units) if u.pinned or k in keep]
    kept = tuple(i for u in kept_units for i in range(u.start, u.stop))
    kept_set = set(kept)
    evicted = tuple(i for i in everything if i not in kept_set)
    lead = leading_system(messages)  # all pinned, so kept[:lead] is the system prompt
    out = [messages[i] for i in kept[:lead]]
    if made is not None:
        out.append(made)  # right after the system prompt: some chat templates want that
    out.extend(messages[i] for i in kept[lead:])
    return Fit(tuple(out), kept, evicted, made)


def truncate(text: str, tokens: int, count: Callable[[str], int]) -> str:
    """The longest prefix of `text` (cut at a word where possible) costing <= `tokens`."""
    if count(text) <= tokens:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # binary search on the length: `count` is monotone in it
        mid = math.ceil((lo + hi) / 2)
        if count(text[:mid] + " …") <= tokens:
            lo = mid
        else:
            hi = mid - 1
    if lo == 0:
        return ""
    cut = text[:lo]
    space = cut.rfind(" ")
    if space > lo // 2:
        cut = cut[:space]
    return cut + " …"
