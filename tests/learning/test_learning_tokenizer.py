"""Locally trained tokenizers and the chat template the trained models carry."""

from __future__ import annotations

from typing import Any

import pytest

from llmagentos.learning.chat import END
from llmagentos.learning.corpus import system_prompt
from llmagentos.learning.corpus.tools import SPECS
from llmagentos.learning.errors import CorpusTooSmall

pytest.importorskip("transformers")

from llmagentos.learning.tokenizer import train_bpe, train_wordpiece


@pytest.fixture(scope="module")
def bpe() -> Any:
    from llmagentos.learning import corpus

    texts = [m["content"] for e in corpus.generate(400, seed=0) for m in e.messages]
    return train_bpe(texts, vocab_size=1200)


def test_bpe_round_trips_text_and_splits_digits(bpe: Any) -> None:
    text = 'Order K-4471 is shipped. {"tool": "calculator", "arguments": {}} é日本'
    ids = bpe(text, add_special_tokens=False)["input_ids"]
    assert bpe.decode(ids) == text
    assert bpe.tokenize("4471") == ["4", "4", "7", "1"]
    assert bpe.pad_token_id == 0 and bpe.convert_tokens_to_ids(END) == bpe.eos_token_id == 1


def test_split_capitals_spells_a_name_alike_wherever_it_stands() -> None:
    from llmagentos.learning import corpus

    texts = [m["content"] for e in corpus.generate(400, seed=0) for m in e.messages]
    plain = train_bpe(texts, vocab_size=1200)
    split = train_bpe(texts, vocab_size=1200, split_capitals=True)
    passage, answer = "Greven Clinic is run by Hana Vigal.", '{"answer": "Hana Vigal"}'

    def pieces(tok: Any, text: str) -> list[str]:
        return [t for t in tok.tokenize(text) if t != "Ġ"]  # a lone space is its own token

    def holds(tok: Any, text: str) -> bool:
        name, seq = pieces(tok, "Hana Vigal"), pieces(tok, text)
        return any(seq[i : i + len(name)] == name for i in range(len(seq)))

    assert holds(split, passage) and holds(split, answer)
    assert not holds(plain, passage)  # " Hana" there, "Hana" in the answer: the problem solved
    assert split.decode(split(passage, add_special_tokens=False)["input_ids"]) == passage


def test_chat_template_marks_only_assistant_tokens(bpe: Any) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Where is order A-1234?"},
        {"role": "assistant", "content": '{"tool": "order_status", "arguments": {}}'},
        {"role": "tool", "content": '{"status": "shipped"}'},
        {"role": "assistant", "content": '{"answer": "shipped"}'},
    ]
    enc = bpe.apply_chat_template(
        messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    learned = [t for t, m in zip(enc["input_ids"], enc["assistant_masks"], strict=True) if m]
    assert bpe.decode(learned) == (
        '{"tool": "order_status", "arguments": {}}<|end|>{"answer": "shipped"}<|end|>'
    )


def test_tool_calls_without_text_are_written_as_react_json(bpe: Any) -> None:
    call = {"function": {"name": "calculator", "arguments": {"expression": "1 + 2"}}}
    messages = [
        {"role": "user", "content": "1+2?"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "content": "3"},
    ]
    text = bpe.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text == (
        '<|user|>1+2?<|end|><|assistant|>{"tool": "calculator", "arguments": '
        '{"expression": "1 + 2"}}<|end|><|tool|>3<|end|><|assistant|>'
    )


def test_tools_without_a_system_message_get_the_react_prompt(bpe: Any) -> None:
    tools = [
        {
            "type": "function",
            "function": {"name": s.name, "description": s.description, "parameters": s.parameters},
        }
        for s in (SPECS["calculator"], SPECS["order_status"])
    ]
    text = bpe.apply_chat_template(
        [{"role": "user", "content": "hi"}], tools=tools, tokenize=False, add_generation_prompt=True
    )
    prompt = system_prompt(["calculator", "order_status"])
    assert text == f"<|system|>{prompt}<|end|><|user|>hi<|end|><|assistant|>"


def test_wordpiece_makes_bert_pairs() -> None:
    tok = train_wordpiece(["The cat sat on the mat. The dog ran home."] * 20, vocab_size=120)
    enc = tok("the cat", "the dog")
    tokens = tok.convert_ids_to_tokens(enc["input_ids"])
    assert tokens[0] == "[CLS]" and tokens.count("[SEP]") == 2
    assert enc["token_type_ids"][-1] == 1 and enc["token_type_ids"][0] == 0
    assert tok.mask_token == "[MASK]"


@pytest.mark.parametrize("train", [train_bpe, train_wordpiece])
def test_too_little_text_is_refused(train: Any) -> None:
    with pytest.raises(CorpusTooSmall):
        train(["", "  ", "hi"], vocab_size=300)
