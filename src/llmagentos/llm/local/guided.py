"""Picking tokens under a guide (`llm.guides`): the model's own choice, as long as it stays valid.

For a guided sequence the engine hands the row of logits here instead of taking the plain
sampler's token. Greedy decoding tries the candidates from most to least likely and keeps
the first whose text the guide accepts; sampling draws as usual and draws again (without
the refused token) until the guide accepts one. Once the reply is whole, the only choice
is end-of-sequence. When the tokens left are barely enough for the shortest way to finish the
reply, the guide spells that way out, so a reply does not end cut off.

Guides read characters, tokens are bytes: a byte-level tokenizer spells `é` as two tokens
of one byte each. A token that ends inside a character is held as pending bytes and let
through if the character could still be one the guide accepts (one of its fixed texts'
characters, or any character where it accepts any); the next token must finish it.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from llmagentos.llm.guides import Guide, Progress
from llmagentos.llm.local.params import SamplingParams
from llmagentos.llm.local.sampling import draw

_REDRAWS = 8  # sampled draws refused before the sampler falls back to a masked draw
_WIDE = 256  # candidates a masked draw considers
_BYTE_TOKEN = re.compile(r"<0x([0-9A-Fa-f]{2})>")  # SentencePiece's byte fallback


@dataclass(frozen=True, slots=True)
class GuideState:
    """A guided sequence: the guide's progress over whole characters, and the bytes of a
    character begun but not finished."""

    progress: Progress
    chars: frozenset[str]
    pending: bytes = b""

    @property
    def done(self) -> bool:
        return not self.pending and self.progress.done

    @property
    def can_end(self) -> bool:
        return not self.pending and self.progress.can_end

    def closing(self) -> str:
        return self.progress.closing()


def _byte_level_table() -> dict[str, int]:
    """GPT-2-style byte-level BPE writes each byte as one printable character: bytes that
    are printable Latin-1 stand for themselves, the others for 256, 257, ... in order."""
    kept = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    table = {chr(b): b for b in kept}
    extra = 0
    for b in range(256):
        if b not in kept:
            table[chr(256 + extra)] = b
            extra += 1
    return table


_BYTE_LEVEL = _byte_level_table()


def _completions(tail: bytes, chars: frozenset[str]) -> list[str]:
    """Characters a character begun with `tail` may become, as far as a guide can tell:
    those of its fixed texts, and one other (where it takes any character)."""
    options = [c for c in chars if c.encode("utf-8").startswith(tail)]
    some = _representative(tail)
    if some is not None:
        options.append(some)
    return options


def _representative(tail: bytes) -> str | None:
    """Some character whose UTF-8 begins with `tail` (an unfinished one), if any."""
    for second in (0x80, 0x90, 0xA0):
        for filler in (b"", b"\x80", b"\x80\x80"):
            probe = tail + (bytes([second]) if len(tail) == 1 else b"") + filler
            try:
                text = probe.decode("utf-8")
            except UnicodeDecodeError:
                continue
            if len(text) == 1:
                return text
    return None


class TokenGuide:
    """A tokenizer's vocabulary as text and bytes, and the choice of allowed tokens (one per
    model)."""

    def __init__(self, tokenizer: Any, eos_ids: frozenset[int]) -> None:
        self.tokenizer = tokenizer
        self.eos = min(eos_ids) if eos_ids else None
        self.eos_ids = eos_ids
        self.special = frozenset(getattr(tokenizer, "all_special_ids", ()) or ()) | eos_ids
        anchor = tokenizer.encode("a", add_special_tokens=False)
        self._anchor = anchor[:1]
        self._anchor_text = tokenizer.decode(self._anchor) if self._anchor else ""
        self._texts: dict[int, str] = {}
        self._bytes: dict[int, bytes] = {}

    def start(self, guide: Guide) -> GuideState:
        """The state of a sequence about to be guided by `guide`."""
        return GuideState(guide.start(), guide.chars)

    def token_bytes(self, token: int) -> bytes | None:
        """The bytes `token` adds (None for a special token or one it cannot tell)."""
        if token in self.special:
            return None
        cached = self._bytes.get(token)
        if cached is None:
            text = self.text(token)
            if "\ufffd" not in text:
                cached = text.encode("utf-8")
            else:  # a piece of a character: read its bytes off the vocabulary
                piece = str(self.tokenizer.convert_ids_to_tokens(token))
                byte = _BYTE_TOKEN.fullmatch(piece)
                if byte is not None:
                    cached = bytes([int(byte.group(1), 16)])
                elif piece and all(ch in _BYTE_LEVEL for ch in piece):
                    cached = bytes(_BYTE_LEVEL[ch] for ch in piece)
                else:
                    cached = b""
            self._bytes[token] = cached
        return cached or None

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
        raw = self.token_bytes(token)
        if raw is None:
            return None
        data = state.pending + raw
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            text = decoder.decode(data, final=False)
        except UnicodeDecodeError:
            return None
        tail = data[len(text.encode("utf-8")) :]
        progress = state.progress.feed(text) if text else state.progress
        if progress is None:
            return None
        if tail and not self._may_finish(progress, tail, state.chars):
            return None
        return GuideState(progress, state.chars, tail)

    @staticmethod
    def _may_finish(progress: Progress, tail: bytes, chars: frozenset[str]) -> bool:
        """Whether a character begun with `tail` could be one the guide accepts next."""
        return any(progress.feed(c) is not None for c in _completions(tail, chars))

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
        if state.pending:  # finish the character first (room for it was kept)
            for token in (drawn, *logits.argsort(descending=True).tolist()):
                after = self.allows(state, token)
                if after is not None:
                    return token, after
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
        """Whether the shortest finish from `state` fits in `left` tokens (for a character
        begun, the shortest finish through any character it can still become)."""
        if not state.pending:
            return self._cost(state.closing(), left) <= left
        tail = state.pending
        costs = [
            len(c.encode("utf-8")) - len(tail) + self._cost(after.closing(), left)
            for c in _completions(tail, state.chars)
            if (after := state.progress.feed(c)) is not None
        ]
        return bool(costs) and min(costs) <= left

    def _cost(self, text: str, left: int) -> int:
        """Tokens `text` takes at most (its bytes), or as the tokenizer spells it."""
        size = len(text.encode("utf-8"))
        if size <= left:
            return size
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def _finishing(self, state: GuideState, left: int) -> str | None:
        """The text that closes the reply, when there is only just room left for it."""
        if left > 64 or state.pending:
            return None
        closing = state.closing()
        if len(closing.encode("utf-8")) < left - 2:  # a token is at least a byte
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
        target = state.pending + closing.encode("utf-8")
        spelled = self.tokenizer.encode(closing, add_special_tokens=False)
        if spelled and target.startswith(state.pending + (self.token_bytes(spelled[0]) or b"-")):
            after = self.allows(state, spelled[0])
            if after is not None:
                return spelled[0], after
        best: tuple[int, int, GuideState] | None = None
        for token in logits.argsort(descending=True).tolist():
            piece = self.token_bytes(token)
            if piece is None or not target.startswith(state.pending + piece):
                continue
            if best is None or len(piece) > best[0]:
                after = self.allows(state, token)
                if after is not None:
                    best = (len(piece), token, after)
        if best is None:  # no token spells it: end the reply as it stands
            return (self.eos if self.eos is not None else 0), state
        return best[1], best[2]
