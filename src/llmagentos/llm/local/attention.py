"""The engine's attention: packed prefill chunks and batched decode over KV rows.

Registered with transformers as the attention implementation `"llmagentos"` (its mask
function is sdpa's), so the model's own forward runs unchanged: projections, RoPE and MLPs
work on every new token of the step packed into one `[1, tokens]` row, and only attention
is ours. A step's tokens are laid out decoders first (one token each, in row order), then
prefill chunks. Called without a plan (plain `model.generate()`), it is exactly sdpa.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

NAME = "llmagentos"
PLAN_KW = "llmagentos_plan"


@dataclass(slots=True)
class Prefill:
    """A chunk of one sequence: `n` tokens from position `start`, at `offset` in the step."""

    row: int
    start: int
    n: int
    offset: int
    mask: torch.Tensor | None  # None: plain causal (the chunk starts the sequence)


@dataclass(slots=True)
class StepPlan:
    """Where each token of a step reads and writes KV; built once per step, read per layer."""

    kv: torch.Tensor  # the pool: [layers, 2, rows, kv_heads, cap, head_dim]
    n_decode: int
    dec_rows: torch.Tensor  # [n_decode] rows of the decoding sequences, ascending
    dec_pos: torch.Tensor  # [n_decode] the position each one writes
    high: int  # decode attends over rows [0, high)
    dense: bool  # dec_rows == arange(high): no scatter needed
    dec_mask: torch.Tensor | None  # [high, 1, 1, length], 0 where a row may attend, else -inf
    prefills: list[Prefill]


def _additive(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    # CPU sdpa runs about twice as fast with an additive float mask as with a boolean one.
    return torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill_(
        ~allowed, float("-inf")
    )


def decode_mask(
    rows: list[int], positions: list[int], high: int, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """Mask for batched decode: row r sees positions <= its own; idle rows see position 0."""
    last = torch.zeros(high, dtype=torch.long, device=device)
    last[torch.tensor(rows, device=device)] = torch.tensor(positions, device=device)
    length = max(positions) + 1
    allowed = torch.arange(length, device=device)[None, :] <= last[:, None]
    return _additive(allowed, dtype)[:, None, None, :]


def chunk_mask(start: int, n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor | None:
    """Causal mask for `n` new tokens after `start` cached ones (None when `start` is 0)."""
    if start == 0:
        return None
    return _additive(torch.ones(n, start + n, dtype=torch.bool, device=device).tril(start), dtype)


def attention(
    module: Any,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """transformers attention interface: `query` is `[1, heads, tokens, head_dim]`."""
    plan: StepPlan | None = kwargs.pop(PLAN_KW, None)
    if plan is None:
        out, weights = sdpa_attention_forward(
            module, query, key, value, attention_mask, scaling=scaling, dropout=dropout, **kwargs
        )
        return out, weights
    layer = module.layer_idx
    cache_k, cache_v = plan.kv[layer, 0], plan.kv[layer, 1]  # [rows, kv_heads, cap, hd]
    heads, tokens, head_dim = query.shape[1], query.shape[2], query.shape[3]
    kv_heads = key.shape[1]
    out = query.new_empty(tokens, heads, head_dim)
    d = plan.n_decode
    if d:
        cache_k[plan.dec_rows, :, plan.dec_pos] = key[0, :, :d].transpose(0, 1)
        cache_v[plan.dec_rows, :, plan.dec_pos] = value[0, :, :d].transpose(0, 1)
        # Grouped-query attention without repeating KV: each kv head's query heads become
        # that head's "query length" (ordered as transformers' repeat_kv orders them).
        q = query[0, :, :d].transpose(0, 1).reshape(d, kv_heads, heads // kv_heads, head_dim)
        if not plan.dense:
            full = q.new_zeros(plan.high, kv_heads, heads // kv_heads, head_dim)
            full[plan.dec_rows] = q
            q = full
        assert plan.dec_mask is not None
        length = plan.dec_mask.shape[-1]
        o = F.scaled_dot_product_attention(
            q,
            cache_k[: plan.high, :, :length],
            cache_v[: plan.high, :, :length],
            attn_mask=plan.dec_mask,
            scale=scaling,
        )
        if not plan.dense:
            o = o[plan.dec_rows]
        out[:d] = o.reshape(d, heads, head_dim)
    for c in plan.prefills:
        end = c.start + c.n
        cache_k[c.row, :, c.start : end] = key[0, :, c.offset : c.offset + c.n]
        cache_v[c.row, :, c.start : end] = value[0, :, c.offset : c.offset + c.n]
        o = F.scaled_dot_product_attention(
            query[0, :, c.offset : c.offset + c.n],
            cache_k[c.row, :, :end],
            cache_v[c.row, :, :end],
            attn_mask=c.mask,
            is_causal=c.mask is None,
            scale=scaling,
            enable_gqa=kv_heads != heads,
        )
        out[c.offset : c.offset + c.n] = o.transpose(0, 1)
    return out[None], None


AttentionInterface.register(NAME, attention)
ALL_MASK_ATTENTION_FUNCTIONS.register(NAME, sdpa_mask)
