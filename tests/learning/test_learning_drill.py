"""Copy drills for pretraining: spans said twice, over small per-span alphabets."""

from __future__ import annotations

import pytest

from llmagentos.errors import InvalidArgument
from llmagentos.learning.corpus.drill import copy_drills, drill_pieces

PIECES = [chr(0x100 + i) for i in range(100)]  # one character each: easy to tell apart


def test_each_span_is_written_twice_and_draws_are_deterministic() -> None:
    docs = copy_drills(PIECES, 20, seed=3)
    assert docs == copy_drills(PIECES, 20, seed=3) and docs != copy_drills(PIECES, 20, seed=4)
    for doc in docs:
        blocks = doc.split("\n\n")
        assert 3 <= len(blocks) <= 8
        for block in blocks:
            first, second = block.split("\n")
            assert first == second and first


def test_a_span_uses_only_its_own_small_alphabet() -> None:
    for doc in copy_drills(PIECES, 10, seed=0, alphabet=(2, 2), span=(20, 20)):
        for block in doc.split("\n\n"):
            line = block.split("\n")[0]
            assert len(line) == 20 and 1 <= len(set(line)) <= 2


def test_bad_alphabets_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="alphabets"):
        copy_drills(PIECES, 1, alphabet=(1, 4))
    with pytest.raises(InvalidArgument, match="alphabets"):
        copy_drills(PIECES[:5], 1, alphabet=(8, 64))


def test_pieces_come_from_a_tokenizer_without_specials_or_line_breaks() -> None:
    pytest.importorskip("transformers")
    from llmagentos.learning import corpus
    from llmagentos.learning.tokenizer import train_bpe

    texts = [m["content"] for e in corpus.generate(200, seed=0) for m in e.messages]
    tok = train_bpe(texts, vocab_size=600, split_capitals=True)
    pieces = drill_pieces(tok)
    assert pieces and not any("<|" in p or "\n" in p for p in pieces)
    for doc in copy_drills(pieces, 5, seed=1):  # both copies of a span tokenize alike
        for block in doc.split("\n\n"):
            first, second = block.split("\n")
            assert tok.tokenize("\n" + first) == tok.tokenize("\n" + second)
