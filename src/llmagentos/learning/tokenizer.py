"""Tokenizers trained locally with the `tokenizers` library and saved with their model.

- `train_bpe`: byte-level BPE for causal models. Digits are split one by one, so numbers the
  model copies (order ids, results) are spelled with tokens it has seen in any combination;
  the chat special tokens and the chat template come with it. With `split_capitals`, a
  space before a capital letter is a token of its own, so a name is spelled with the same
  tokens wherever it stands: "Greven" after a space in a passage and "Greven" right after
  the quote of a JSON answer, instead of " Greven" there and "Gre" + "ven" here. A small
  model can then copy a name token by token; without it, the first word of every copied
  span changes spelling.
- `train_wordpiece`: BERT-style WordPiece (lower-cased) with `[CLS]`/`[SEP]` pair templates,
  for masked-LM encoders and their classifiers.

Both return a `transformers.PreTrainedTokenizerFast`, so `save_pretrained` writes the files
`AutoTokenizer.from_pretrained` (and the local LLM core) loads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from llmagentos.errors import InvalidArgument
from llmagentos.learning.chat import CHAT_TEMPLATE, END, PAD, SPECIAL_TOKENS
from llmagentos.learning.errors import CorpusTooSmall

HFTokenizer = Any
"""A `transformers` tokenizer (typed loosely: transformers' own annotations are partial)."""

BERT_SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
_MIN_CHARS = 200  # below this no vocabulary worth the name can be learned


def _checked(texts: Iterable[str], what: str) -> Iterator[str]:
    """Yield non-empty texts; raise `CorpusTooSmall` if there is next to nothing."""
    total = 0
    for text in texts:
        if text and text.strip():
            total += len(text)
            yield text
    if total < _MIN_CHARS:
        raise CorpusTooSmall(
            f"cannot train a {what} tokenizer on {total} characters of text; "
            f"give it at least {_MIN_CHARS} (a real corpus has millions)",
            characters=total,
        )


def _fast(cls: Any) -> Any:
    return cls  # transformers' constructors are unannotated; keep mypy out of them


def _check_vocab(vocab_size: int, floor: int) -> None:
    if not floor <= vocab_size <= 1_000_000:
        raise InvalidArgument(f"vocab_size must be between {floor} and 1000000, got {vocab_size}")


def train_bpe(
    texts: Iterable[str],
    vocab_size: int = 4096,
    *,
    chat_template: str | None = CHAT_TEMPLATE,
    split_capitals: bool = False,
) -> HFTokenizer:
    """A byte-level BPE tokenizer with the chat special tokens (pad id 0, end id 1)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast as Fast

    _check_vocab(vocab_size, 256 + len(SPECIAL_TOKENS) + 8)
    tok = Tokenizer(models.BPE())
    steps = [
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ]
    if split_capitals:
        steps.insert(0, pre_tokenizers.Split(Regex(r" (?=[A-Z])"), behavior="isolated"))
    tok.pre_tokenizer = pre_tokenizers.Sequence(steps)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_checked(texts, "BPE"), trainer=trainer)
    fast = _fast(Fast)(
        tokenizer_object=tok,
        eos_token=END,
        pad_token=PAD,
        bos_token=None,
        unk_token=None,
        additional_special_tokens=list(SPECIAL_TOKENS[2:]),
        clean_up_tokenization_spaces=False,
    )
    if chat_template is not None:
        fast.chat_template = chat_template
    return fast


def train_wordpiece(
    texts: Iterable[str], vocab_size: int = 4096, *, lowercase: bool = True
) -> HFTokenizer:
    """A BERT-style WordPiece tokenizer: `[CLS] a [SEP]` and `[CLS] a [SEP] b [SEP]`."""
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast as Fast

    _check_vocab(vocab_size, len(BERT_SPECIAL) + 64)
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=list(BERT_SPECIAL), show_progress=False
    )
    tok.train_from_iterator(_checked(texts, "WordPiece"), trainer=trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    return _fast(Fast)(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )
