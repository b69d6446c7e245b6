"""The engine's pure step: which sequences hold batch rows this step, and how many tokens each.

No tensors and no clock: the engine describes each sequence as a `Candidate` (its rank from
the scheduling policy, the tokens it has left to compute before its next sample, whether
it is running) and gets back plain records. Tests drive it with plain records.

Rules:
1. A running sequence admitted fewer than `min_steps` steps ago keeps its row (no thrash).
2. The other rows go to the best-ranked sequences, running or waiting; a running sequence
   that loses its row is preempted (its KV is kept, see `kvmanager`). Waiting sequences
   come best first, all of them: one the engine cannot admit yet (it waits for a prefix
   another sequence is computing) leaves its row to the next.
3. Once the engine knows who runs, `split_budget` gives every decoder (one token left) its
   token and shares what is left of the step's token budget among prompt chunks in rank
   order, so a long prompt cannot stall everyone's next token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
    """Who gives up a row, and who may take one."""

    preempt: tuple[int, ...] = ()  # running sequences that give their rows up
    admit: tuple[int, ...] = ()  # waiting sequences, best first, to fill `rows` free rows
    rows: int = 0  # rows free for `admit` once the preempted have left


def _order(c: Candidate) -> tuple[Key, int]:
    return (c.key, c.seq_id)


def choose(candidates: Sequence[Candidate], rows: int, min_steps: int = 1) -> StepChoice:
    """Pick preemptions and the admission order for one step; see the module docstring."""
    if rows < 1:
        raise ValueError(f"need rows >= 1, got {rows}")
    kept = {c.seq_id for c in candidates if c.running and c.steps < min_steps}
    others = sorted((c for c in candidates if c.seq_id not in kept), key=_order)
    chosen = {c.seq_id for c in others[: max(rows - len(kept), 0)]}
    preempt = tuple(c.seq_id for c in others if c.running and c.seq_id not in chosen)
    running = sum(1 for c in candidates if c.running) - len(preempt)
    # Everyone without a row, preempted ones included, in rank order: when a better one
    # cannot be admitted yet, the next takes its row (maybe the one just preempted).
    admit = tuple(c.seq_id for c in others if not (c.running and c.seq_id in chosen))
    return StepChoice(preempt=preempt, admit=admit, rows=rows - running)


def split_budget(running: Sequence[Candidate], token_budget: int) -> dict[int, int]:
    """Tokens each running sequence computes this step (0: it waits for budget)."""
    chunks: dict[int, int] = {}
    left = token_budget
    ranked = sorted(running, key=_order)
    for c in ranked:
        if c.todo == 1:
            chunks[c.seq_id] = 1
            left -= 1
    for c in ranked:
        if c.todo > 1:
            n = min(c.todo, max(left, 0))
            chunks[c.seq_id] = n
            left -= n
    return chunks
