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
    dec_mask: torch.Tensor | None  # [high, 1, 1, length - shared]: 0 where a row may attend
    prefills: list[Prefill]
    shared: int = 0  # every decoder's first `shared` positions hold the same KV...
    shared_row: int = 0  # ...as this row: attention reads them once for all (cascade)


def _additive(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    # CPU sdpa runs about twice as fast with an additive float mask as with a boolean one.
    return torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill_(
        ~allowed, float("-inf")
    )


def decode_mask(
    rows: list[int],
    positions: list[int],
    high: int,
    dtype: torch.dtype,
    device: torch.device,
    start: int = 0,
) -> torch.Tensor:
    """Mask for batched decode over positions `[start, max + 1)`: row r sees positions up to
    its own; idle rows see `start` only (their output is dropped, but must not be NaN)."""
    last = torch.full((high,), start, dtype=torch.long, device=device)
    last[torch.tensor(rows, device=device)] = torch.tensor(positions, device=device)
    span = torch.arange(start, max(positions) + 1, device=device)
    return _additive(span[None, :] <= last[:, None], dtype)[:, None, None, :]


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
        full = q
        if not plan.dense:
            full = q.new_zeros(plan.high, kv_heads, heads // kv_heads, head_dim)
            full[plan.dec_rows] = q
        assert plan.dec_mask is not None
        span = slice(plan.shared, plan.shared + plan.dec_mask.shape[-1])
        k_rows, v_rows = cache_k[: plan.high, :, span], cache_v[: plan.high, :, span]
        if plan.shared:
            k_pre = cache_k[plan.shared_row, :, : plan.shared]
            v_pre = cache_v[plan.shared_row, :, : plan.shared]
            o = _cascade(q, (k_pre, v_pre), full, (k_rows, v_rows), plan, scaling)
        else:
            o = F.scaled_dot_product_attention(
                full, k_rows, v_rows, attn_mask=plan.dec_mask, scale=scaling
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


def _cascade(
    q: torch.Tensor,
    prefix: tuple[torch.Tensor, torch.Tensor],
    full: torch.Tensor,
    rows: tuple[torch.Tensor, torch.Tensor],
    plan: StepPlan,
    scale: float | None,
) -> torch.Tensor:
    """Decode attention split at `plan.shared`: the shared prefix is read once for every
    decoder's queries, each row's own suffix as usual; the two halves are merged by their
    log-sum-exp (as FlashInfer's cascade attention does). Returns `[decoders, kv, g, hd]`."""
    d, kv_heads, group, head_dim = q.shape
    together = q.permute(1, 0, 2, 3).reshape(1, kv_heads, d * group, head_dim)
    o1, lse1 = _attend(together, prefix[0][None], prefix[1][None], None, scale)
    o1 = o1[0].reshape(kv_heads, d, group, head_dim).transpose(0, 1)
    lse1 = lse1[0].reshape(kv_heads, d, group).transpose(0, 1)
    o2, lse2 = _attend(full, rows[0], rows[1], plan.dec_mask, scale)
    if not plan.dense:
        o2, lse2 = o2[plan.dec_rows], lse2[plan.dec_rows]
    top = torch.maximum(lse1, lse2)
    w1 = torch.exp(lse1 - top)[..., None]
    w2 = torch.exp(lse2 - top)[..., None]
    return ((o1 * w1 + o2 * w2) / (w1 + w2)).to(q.dtype)


def _attend(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None,
    scale: float | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention output and its log-sum-exp per query (4-d inputs, no grouped heads)."""
    if q.device.type == "cpu":
        out, lse = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(
            q, k, v, 0.0, False, attn_mask=mask, scale=scale
        )
        return out, lse
    s = torch.matmul(q, k.transpose(-1, -2)).float() * (scale or q.shape[-1] ** -0.5)
    if mask is not None:
        s = s + mask
    lse = torch.logsumexp(s, dim=-1)
    return torch.matmul(torch.exp(s - lse[..., None]).to(v.dtype), v), lse


AttentionInterface.register(NAME, attention)
ALL_MASK_ATTENTION_FUNCTIONS.register(NAME, sdpa_mask)
