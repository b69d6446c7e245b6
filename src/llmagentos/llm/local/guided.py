"""Picking tokens under a guide (`llm.guides`): the model's own choice, as long as it stays valid.

For a guided sequence the engine hands the row of logits here instead of taking the plain
sampler's token. Greedy decoding tries the candidates from most to least likely and keeps
the first whose text the guide accepts; sampling draws as usual and draws again (without
the refused token) until the guide accepts one. Once the reply is whole, the only choice
is end-of-sequence. When the tokens left are barely enough for the shortest way to finish the
reply, the guide spells that way out, so a reply does not end cut off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from llmagentos.llm.guides import Progress as GuideState
from llmagentos.llm.local.params import SamplingParams
from llmagentos.llm.local.sampling import draw

_REDRAWS = 8  # sampled draws refused before the sampler falls back to a masked draw
_WIDE = 256  # candidates a masked draw considers


class TokenGuide:
    """A tokenizer's vocabulary as text, and the choice of allowed tokens (one per model)."""

    def __init__(self, tokenizer: Any, eos_ids: frozenset[int]) -> None:
        self.tokenizer = tokenizer
        self.eos = min(eos_ids) if eos_ids else None
        self.eos_ids = eos_ids
        self.special = frozenset(getattr(tokenizer, "all_special_ids", ()) or ()) | eos_ids
        anchor = tokenizer.encode("a", add_special_tokens=False)
        self._anchor = anchor[:1]
        self._anchor_text = tokenizer.decode(self._anchor) if self._anchor else ""
        self._texts: dict[int, str] = {}

    def text(self, token: int) -> str:
        """What `token` adds to a text (a leading space included, whatever the tokenizer)."""
        cached = self._texts.get(token)
        if cached is None:
            if token in self.special:
                cached = ""
            else:
                both = self.tokenizer.decode([*self._anchor, token])
                cached = both[len(self._anchor_text) :]
            self._texts[token] = cached
        return cached

    def allows(self, state: GuideState, token: int) -> GuideState | None:
        """The state after `token`, or None if the guide refuses it."""
        if token in self.eos_ids:
            return state if state.can_end else None
        if token in self.special:
            return None
        text = self.text(token)
        return state.feed(text) if text else None

    def pick(
        self,
        logits: torch.Tensor,
        params: SamplingParams,
        generator: torch.Generator | None,
        state: GuideState,
        left: int,
        drawn: int,
    ) -> tuple[int, GuideState]:
        """The token to take (and the guide's state after it) for one sequence's `logits`;
        `drawn` is what the plain sampler chose, `left` the tokens still allowed.

        In the last stretch (`left` <= 64) a token is also refused if the shortest way to
        finish after it no longer fits: a reply cannot start on a call it has no room for.
        """
        if state.done:
            return (self.eos if self.eos is not None else drawn), state
        finish = self._finishing(state, left)
        if finish is not None:
            return self._closing_token(logits, state, finish)

        def fits(token: int) -> GuideState | None:
            after = self.allows(state, token)
            if after is None or left > 64 or self._room(after, left - 1):
                return after
            return None

        after = fits(drawn)
        if after is not None:
            return drawn, after
        if not params.greedy:
            return self._sampled(logits, params, generator, state, drawn, fits)
        for token in logits.argsort(descending=True).tolist():
            after = fits(token)
            if after is not None:
                return token, after
        return self._closing_token(logits, state, state.closing())

    def _room(self, state: GuideState, left: int) -> bool:
        """Whether the shortest finish from `state` fits in `left` tokens."""
        closing = state.closing()
        if len(closing) <= left:
            return True
        return len(self.tokenizer.encode(closing, add_special_tokens=False)) <= left

    def _finishing(self, state: GuideState, left: int) -> str | None:
        """The text that closes the reply, when there is only just room left for it."""
        if left > 64:
            return None
        closing = state.closing()
        if len(closing) < left - 2:
            return None
        if len(self.tokenizer.encode(closing, add_special_tokens=False)) < left - 2:
            return None
        return closing

    def _sampled(
        self,
        logits: torch.Tensor,
        params: SamplingParams,
        generator: torch.Generator | None,
        state: GuideState,
        drawn: int,
        fits: Callable[[int], GuideState | None],
    ) -> tuple[int, GuideState]:
        masked = logits.float().clone()
        for _ in range(_REDRAWS):
            masked[drawn] = float("-inf")
            drawn = int(draw(masked, params.temperature, params.top_p, generator))
            after = fits(drawn)
            if after is not None:
                return drawn, after
        top = masked.topk(min(_WIDE, masked.numel())).indices.tolist()
        allowed = [(t, a) for t in top if (a := fits(t)) is not None]
        if not allowed:
            return self._closing_token(logits, state, state.closing())
        keep = torch.full_like(masked, float("-inf"))
        index = torch.tensor([t for t, _ in allowed], device=masked.device)
        keep[index] = masked[index]
        token = int(draw(keep, params.temperature, params.top_p, generator))
        return token, dict(allowed)[token]

    def _closing_token(
        self, logits: torch.Tensor, state: GuideState, closing: str
    ) -> tuple[int, GuideState]:
        """The next token of `closing` as the tokenizer spells it (the fewest tokens, near
        enough); failing that, the candidate that covers most of it."""
        spelled = self.tokenizer.encode(closing, add_special_tokens=False)
        if spelled and closing.startswith(self.text(spelled[0])):
            after = self.allows(state, spelled[0])
            if after is not None:
                return spelled[0], after
        best: tuple[int, int, GuideState] | None = None
        for token in logits.argsort(descending=True).tolist():
            piece = self.text(token)
            if piece and closing.startswith(piece) and (best is None or len(piece) > best[0]):
                after = self.allows(state, token)
                if after is not None:
                    best = (len(piece), token, after)
        if best is None:  # no token spells it: end the reply as it stands
            return (self.eos if self.eos is not None else 0), state
        return best[1], best[2]
