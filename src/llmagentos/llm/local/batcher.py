"""The engine's pure step: which sequences hold batch rows this step, and how many tokens each.

No tensors and no clock: the engine describes each sequence as a `Candidate` (its rank from
the kernel's scheduling policy, the tokens it has left to compute before its next sample,
whether it is running) and gets back a `StepChoice`. Tests drive it with plain records.

Rules, in order:
1. A running sequence admitted fewer than `min_steps` steps ago keeps its row (no thrash).
2. The other rows go to the best-ranked sequences, running or waiting; a running sequence
   that loses its row is preempted (its KV is kept, see `kvcache`).
3. Every decoder (one token left) gets its token; prefill chunks share what is left of
   `token_budget` in rank order, so a long prompt cannot stall everyone's next token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

Key = tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One sequence as the step sees it."""

    seq_id: int
    key: Key  # smaller runs first
    todo: int  # tokens to compute before its next sample (>= 1)
    running: bool = False
    steps: int = 0  # steps since it was (re)admitted, for running sequences


@dataclass(frozen=True, slots=True)
class StepChoice:
    """What runs this step."""

    admit: tuple[int, ...] = ()  # waiting sequences that get a row, best first
    preempt: tuple[int, ...] = ()  # running sequences that give theirs up
    chunks: dict[int, int] = field(default_factory=dict)  # tokens per row holder (may be 0)


def choose(
    candidates: Sequence[Candidate], rows: int, token_budget: int, min_steps: int = 1
) -> StepChoice:
    """Pick rows and chunk sizes for one step; see the module docstring."""
    if rows < 1 or token_budget < rows:
        raise ValueError(f"need rows >= 1 and token_budget >= rows, got {rows}, {token_budget}")
    kept = [c for c in candidates if c.running and c.steps < min_steps]
    kept_ids = {c.seq_id for c in kept}
    others = sorted(
        (c for c in candidates if c.seq_id not in kept_ids), key=lambda c: (c.key, c.seq_id)
    )
    chosen = others[: max(rows - len(kept), 0)]
    chosen_ids = {c.seq_id for c in chosen}
    preempt = tuple(c.seq_id for c in others if c.running and c.seq_id not in chosen_ids)
    admit = tuple(c.seq_id for c in chosen if not c.running)
    holders = sorted([*kept, *chosen], key=lambda c: (c.key, c.seq_id))
    chunks: dict[int, int] = {}
    left = token_budget
    for c in holders:
        if c.todo == 1:
            chunks[c.seq_id] = 1
            left -= 1
    for c in holders:
        if c.todo > 1:
            n = min(c.todo, max(left, 0))
            chunks[c.seq_id] = n
            left -= n
    return StepChoice(admit=admit, preempt=preempt, chunks=chunks)
