"""Packing one step's tokens into a single `[1, tokens]` row for the model.

Decoders come first, one token each, in row order (so batched decode reads the KV rows in
place), then prompt chunks. Logits are kept only where a token will be sampled or scored,
so the vocabulary projection, often the largest matrix, runs on a few rows per sequence.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from llmagentos.llm.local import attention as attn
from llmagentos.llm.local.sequence import Sequence


@dataclass(slots=True)
class Packed:
    """A step's model inputs, and which sequence and position each kept logit belongs to."""

    input_ids: torch.Tensor
    position_ids: torch.Tensor
    keep: torch.Tensor
    owners: list[tuple[Sequence, int]]
    plan: attn.StepPlan


def pack(
    work: list[tuple[Sequence, int]],
    kv: torch.Tensor,
    dtype: torch.dtype,
    device: torch.device,
    cascade_min: int = 64,
) -> Packed:
    """Lay out `work` (sequence, tokens to compute) for one forward pass; sorts `work`."""
    work.sort(key=lambda w: (w[1] > 1, w[0].row if w[1] == 1 else 0))
    ids: list[int] = []
    pos: list[int] = []
    keep: list[int] = []
    owners: list[tuple[Sequence, int]] = []
    prefills: list[attn.Prefill] = []
    for seq, n in work:
        start = seq.computed
        assert seq.row is not None
        if n > 1:
            mask = attn.chunk_mask(start, n, dtype, device)
            prefills.append(attn.Prefill(seq.row, start, n, len(ids), mask))
        for p in range(start, start + n):
            if seq.wants_logits(p):
                keep.append(len(ids) + p - start)
                owners.append((seq, p))
        ids.extend(seq.tokens[start : start + n])
        pos.extend(range(start, start + n))
    decoders = [s for s, n in work if n == 1]
    rows = [s.row or 0 for s in decoders]
    at = [s.computed for s in decoders]
    high = max(rows) + 1 if rows else 0
    shared = _shared_prefix(decoders, cascade_min)
    plan = attn.StepPlan(
        kv=kv,
        n_decode=len(decoders),
        dec_rows=torch.tensor(rows, dtype=torch.long, device=device),
        dec_pos=torch.tensor(at, dtype=torch.long, device=device),
        high=high,
        dense=rows == list(range(high)),
        dec_mask=attn.decode_mask(rows, at, high, dtype, device, shared) if rows else None,
        prefills=prefills,
        shared=shared,
        shared_row=rows[0] if shared else 0,
    )
    return Packed(
        input_ids=torch.tensor([ids], device=device),
        position_ids=torch.tensor([pos], device=device),
        keep=torch.tensor(keep, dtype=torch.long, device=device),
        owners=owners,
        plan=plan,
    )


def _shared_prefix(decoders: list[Sequence], least: int) -> int:
    """Leading positions whose KV is the same copy in every decoder's row (0: none worth it).

    Only KV copied from one computation counts (`Sequence.root`): the same tokens computed
    twice may differ in the last bits, and a decoder must see exactly its own KV.
    """
    if len(decoders) < 2 or len({s.root for s in decoders}) != 1:
        return 0
    shared = min(min(s.root_len, s.computed) for s in decoders)
    return shared if shared >= least else 0
