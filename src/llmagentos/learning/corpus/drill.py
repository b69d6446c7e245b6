"""Copy drills for pretraining: made-up spans, each written twice.

A span is a handful of pieces (strings of the tokenizer's own vocabulary) drawn from an
alphabet chosen afresh for every span. When the alphabet is small, the same piece recurs
inside a span and the second copy can only be predicted by finding the place in the first
copy that the last few pieces match: the multi-token "induction" a model needs to say back
a name or a number it has never seen. The generated corpus alone does not teach it to a
small model in the steps this machine affords (its names share 46 syllables, and what a
name-shaped guess gets right is enough to stop learning there); spans over a random
alphabet leave nothing to guess.

Measured on the 4-layer built-in model: trained from scratch, spans of uniform random
tokens (nothing repeats inside one) are learnt in ~100 steps — one matching token tells
where to copy from; repeated spans at a fixed distance in ~200 steps, but by position,
which does not transfer; spans of varying length over small alphabets slowly (loss 7.5 →
2.3 in 800 steps), and mixed into pretraining with alphabets of 8-64 pieces not at all in
500 steps. So alphabet sizes are drawn log-uniformly from 8 to 1,024 pieces: large ones
teach the one-token match first, small ones then need longer matches. The drills are a
share of the pretraining documents (`BuiltinRecipe.copy_drills`), not a task of the chat
corpus.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from llmagentos.errors import InvalidArgument


def drill_pieces(tokenizer: object) -> list[str]:
    """The printable pieces of `tokenizer`'s vocabulary (no special tokens, no line breaks)."""
    vocab: dict[str, int] = tokenizer.get_vocab()  # type: ignore[attr-defined]
    special = set(getattr(tokenizer, "all_special_tokens", ()))
    convert = tokenizer.convert_tokens_to_string  # type: ignore[attr-defined]
    pieces = []
    for token in sorted(vocab, key=vocab.__getitem__):
        if token in special:
            continue
        text = convert([token])
        if text.strip() and "\n" not in text and "\ufffd" not in text:
            pieces.append(text)
    return pieces


def copy_drills(
    pieces: Sequence[str],
    n: int,
    seed: int = 0,
    *,
    alphabet: tuple[int, int] = (8, 1024),
    span: tuple[int, int] = (4, 24),
    pairs: tuple[int, int] = (3, 8),
) -> list[str]:
    """`n` documents of `pairs` lines "span" + "span", each span `span` pieces long over an
    alphabet of pieces drawn for it alone, its size drawn log-uniformly from `alphabet`
    (small alphabets need long matches, large ones teach the short match first)."""
    if not 2 <= alphabet[0] <= min(alphabet[1], len(pieces)):
        raise InvalidArgument(
            f"copy drills need alphabets of 2..{len(pieces)} pieces, got {alphabet}"
        )
    rng = random.Random(f"copy-drills:{seed}")
    docs = []
    for _ in range(n):
        lines = []
        for _ in range(rng.randint(*pairs)):
            size = round(math.exp(rng.uniform(math.log(alphabet[0]), math.log(alphabet[1]))))
            letters = rng.sample(pieces, min(size, len(pieces)))
            text = "".join(rng.choice(letters) for _ in range(rng.randint(*span))).strip()
            lines += [text, text, ""]
        docs.append("\n".join(lines).strip())
    return docs
