"""Tiny randomly initialised Llama models with a trained tokenizer, made offline.

For tests and benchmarks: nothing is downloaded. The tokenizer is a byte-level BPE trained
with `tokenizers` on generated sentences, saved as a transformers tokenizer with a ChatML
chat template; the model has random weights (its greedy output is fluent gibberish, so
callers fix output lengths with `max_tokens`).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

CHAT_TEMPLATE = (
    "{% if tools %}<|im_start|>system\nTools: {{ tools | tojson }}<|im_end|>\n{% endif %}"
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIALS = ("<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>")
_TEXT = (
    "the a an agent tool calls model kernel answer question weather city search add number "
    "result plan step observe think final process memory file message reply schedule batch "
    "token cache prefix value error retry budget time system user assistant json name "
    "arguments output input query find list read write send receive 0 1 2 3 4 5 6 7 8 9 "
    "{ } [ ] : , . ? ! ( ) - + = * / hello world é ü 日本 ok yes no"
)
_WORDS = tuple(_TEXT.split())

SIZES: dict[str, dict[str, int]] = {
    "tiny": {"hidden": 64, "layers": 2, "heads": 4, "kv_heads": 2, "intermediate": 128},
    "small": {"hidden": 384, "layers": 6, "heads": 6, "kv_heads": 2, "intermediate": 1024},
    "1b": {"hidden": 2048, "layers": 16, "heads": 32, "kv_heads": 8, "intermediate": 8192},
}
# The model's vocabulary: tokens past the tokenizer's decode to nothing, but they cost what a
# real model's vocabulary costs (Llama 2's 32k for "small", Llama 3.2 1B's 128,256 for "1b").
VOCAB = {"tiny": 0, "small": 32000, "1b": 128256}


def sentences(n: int, seed: int = 0) -> list[str]:
    """`n` random sentences over a small agent-flavoured vocabulary."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 14))) for _ in range(n)]


def make_tokenizer(vocab_size: int = 512, seed: int = 0) -> Any:
    """A byte-level BPE tokenizer with ChatML specials and chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIALS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(sentences(600, seed), trainer)
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="<|im_end|>"
    )
    fast.pad_token = "</s>"
    fast.chat_template = CHAT_TEMPLATE
    return fast


def make_model(
    path: str | Path,
    size: str = "tiny",
    *,
    vocab_size: int = 512,
    max_positions: int = 512,
    seed: int = 0,
    **overrides: int,
) -> Path:
    """Build and save a random Llama model of `size` (see `SIZES`) with its tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    dims = {**SIZES[size], **overrides}
    tokenizer = make_tokenizer(vocab_size, seed)
    config = LlamaConfig(
        vocab_size=max(len(tokenizer), VOCAB[size]),
        hidden_size=dims["hidden"],
        num_hidden_layers=dims["layers"],
        num_attention_heads=dims["heads"],
        num_key_value_heads=dims["kv_heads"],
        intermediate_size=dims["intermediate"],
        max_position_embeddings=max_positions,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=size == "1b",
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    # Default init (std 0.02) gives near-uniform logits; a wider spread makes greedy choices
    # decisive, so tests compare real decisions rather than float noise between near-ties.
    with torch.no_grad():
        if not config.tie_word_embeddings:
            model.lm_head.weight.normal_(0.0, 0.5)
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
