"""Choosing next tokens from logits: greedy, or sampled with temperature and top-p.

Each sampled sequence draws from its own `torch.Generator`, so its tokens depend on its
seed and its logits only, never on which other sequences share the batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from llmagentos.llm.local.params import SamplingParams


def new_generator(seed: int | None, device: torch.device) -> torch.Generator:
    """A generator seeded with `seed`, or from fresh entropy when None."""
    gen = torch.Generator(device=device)
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(seed)
    return gen


def sample(
    logits: torch.Tensor,
    params: Sequence[SamplingParams],
    generators: Sequence[torch.Generator | None],
) -> tuple[list[int], list[float | None]]:
    """Next token per row of `logits` (`[rows, vocab]`), and its log-probability where asked.

    Log-probabilities are the model's own (`log_softmax` of the raw logits), whatever the
    temperature, so they score text the same way a forward pass does.
    """
    logits = logits.float()
    tokens = logits.argmax(dim=-1)
    for i, p in enumerate(params):
        if not p.greedy:
            gen = generators[i]
            tokens[i] = draw(logits[i], p.temperature, p.top_p, gen)
    chosen: list[int] = tokens.tolist()
    want = [i for i, p in enumerate(params) if p.logprobs]
    logprobs: list[float | None] = [None] * len(params)
    if want:
        rows = torch.tensor(want, device=logits.device)
        picked = torch.log_softmax(logits[rows], dim=-1).gather(1, tokens[rows, None])
        for i, lp in zip(want, picked[:, 0].tolist(), strict=True):
            logprobs[i] = lp
    return chosen, logprobs


def draw(
    logits: torch.Tensor, temperature: float, top_p: float, gen: torch.Generator | None
) -> torch.Tensor:
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = probs.sort(descending=True)
        # Keep the smallest set whose mass reaches top_p: a token stays if the mass before it
        # is below top_p (so the most likely token always stays).
        before = sorted_probs.cumsum(0) - sorted_probs
        sorted_probs[before >= top_p] = 0.0
        probs = torch.zeros_like(probs).scatter_(0, order, sorted_probs)
    return torch.multinomial(probs, 1, generator=gen)[0]


def token_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> list[float]:
    """log P(target_i | ...) for each row of `logits` (`[rows, vocab]`)."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    picked: list[float] = logp.gather(1, targets[:, None])[:, 0].tolist()
    return picked
