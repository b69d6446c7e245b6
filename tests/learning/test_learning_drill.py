"""Copy drills: made-up spans over per-span alphabets, said back in a chat turn."""

from __future__ import annotations

import pytest

from llmagentos.errors import InvalidArgument
from llmagentos.learning.corpus.drill import copy_conversations, copy_spans, drill_pieces

PIECES = [chr(0x100 + i) for i in range(100)]  # one character each: easy to tell apart


def test_spans_are_deterministic_and_sized_as_asked() -> None:
    spans = copy_spans(PIECES, 50, seed=3, span=(4, 24))
    assert spans == copy_spans(PIECES, 50, seed=3) and spans != copy_spans(PIECES, 50, seed=4)
    assert len(spans) == 50 and all(4 <= len(s) <= 24 for s in spans)


def test_a_span_uses_only_its_own_alphabet() -> None:
    for text in copy_spans(PIECES, 20, seed=0, alphabet=(2, 2), span=(20, 20)):
        assert len(text) == 20 and 1 <= len(set(text)) <= 2
    sizes = {len(set(t)) for t in copy_spans(PIECES, 200, seed=0, alphabet=(2, 64), span=(40, 40))}
    assert min(sizes) <= 4 and max(sizes) >= 20  # sizes spread over the range


def test_conversations_put_the_copy_in_the_assistant_turn_alone() -> None:
    (conv,) = copy_conversations(["ĀāĂ"])
    assert conv == [
        {"role": "user", "content": "ĀāĂ"},
        {"role": "assistant", "content": "ĀāĂ"},
    ]


def test_bad_alphabets_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="alphabets"):
        copy_spans(PIECES, 1, alphabet=(1, 4))
    with pytest.raises(InvalidArgument, match="alphabets"):
        copy_spans(PIECES[:5], 1, alphabet=(8, 64))


def test_pieces_come_from_a_tokenizer_without_specials_or_line_breaks() -> None:
    pytest.importorskip("transformers")
    from llmagentos.learning import corpus
    from llmagentos.learning.sft import encode_chat
    from llmagentos.learning.tokenizer import train_bpe

    texts = [m["content"] for e in corpus.generate(200, seed=0) for m in e.messages]
    tok = train_bpe(texts, vocab_size=600, split_capitals=True)
    pieces = drill_pieces(tok)
    assert pieces and not any("<|" in p or "\n" in p for p in pieces)
    convs = copy_conversations(copy_spans(pieces, 5, seed=1))
    records, dropped = encode_chat(tok, convs, 512)
    assert dropped == 0
    for conv, rec in zip(convs, records, strict=True):  # the loss is on the copy alone
        learnt = [t for t, lab in zip(rec["input_ids"], rec["labels"], strict=True) if lab != -100]
        assert tok.decode(learnt[:-1]) == conv[1]["content"]
