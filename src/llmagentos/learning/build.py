"""Build fresh `transformers` models from our configs, after the memory check passes.

Parameters are counted on the `meta` device first (no memory touched), so an oversized
config is refused with `ConfigTooLarge` before a single weight is allocated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmagentos.learning.config import (
    CausalConfig,
    EncoderConfig,
    TrainConfig,
    check_memory,
    estimate_memory,
)

if TYPE_CHECKING:
    from torch import nn


def quiet_transformers() -> None:
    """No per-file progress bars from `transformers` inside our own progress display."""
    from transformers.utils import logging

    hf_logging: Any = logging  # unannotated upstream
    hf_logging.disable_progress_bar()


def seed_everything(seed: int) -> None:
    """Seed Python's and torch's generators (model init and dropout draw from torch's)."""
    import random

    import torch

    random.seed(seed)
    torch.manual_seed(seed)


def count_parameters(model_class: Any, hf_config: Any) -> int:
    """Parameters `model_class(hf_config)` would have, counted without allocating them."""
    import torch

    with torch.device("meta"):
        model = model_class(hf_config)
    seen: set[int] = set()
    total = 0
    for p in model.parameters():  # parameters() already skips tied duplicates
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total


def _checked_build(
    model_class: Any, hf_config: Any, train: TrainConfig, *, ffn: int, seq: int
) -> nn.Module:
    parameters = count_parameters(model_class, hf_config)
    estimate = estimate_memory(
        parameters,
        batch=train.batch_size,
        seq=seq,
        hidden=hf_config.hidden_size,
        ffn=ffn,
        layers=hf_config.num_hidden_layers,
        heads=hf_config.num_attention_heads,
        vocab=hf_config.vocab_size,
    )
    check_memory(estimate, train.max_memory_gb)
    seed_everything(train.seed)
    model: nn.Module = model_class(hf_config)
    return model


def build_causal(
    config: CausalConfig, vocab_size: int, train: TrainConfig, *, pad_id: int, eos_id: int
) -> nn.Module:
    """A freshly initialised `LlamaForCausalLM` (seeded with `train.seed`)."""
    from transformers import LlamaForCausalLM

    hf = config.to_hf(vocab_size, pad_id=pad_id, eos_id=eos_id)
    return _checked_build(LlamaForCausalLM, hf, train, ffn=config.ffn_size, seq=train.seq_len)


def build_encoder(
    config: EncoderConfig, vocab_size: int, train: TrainConfig, *, pad_id: int, nsp: bool
) -> nn.Module:
    """A fresh `BertForPreTraining` (MLM + next sentence) or `BertForMaskedLM`."""
    from transformers import BertForMaskedLM, BertForPreTraining

    hf = config.to_hf(vocab_size, pad_id=pad_id)
    cls = BertForPreTraining if nsp else BertForMaskedLM
    return _checked_build(cls, hf, train, ffn=config.ffn_size, seq=train.seq_len)


def build_encoder_classifier(
    config: EncoderConfig, vocab_size: int, train: TrainConfig, *, pad_id: int, labels: list[str]
) -> nn.Module:
    """A fresh `BertForSequenceClassification` for `labels` (no pretrained base)."""
    from transformers import BertForSequenceClassification

    hf = config.to_hf(vocab_size, pad_id=pad_id)
    hf.num_labels = len(labels)
    hf.id2label = dict(enumerate(labels))
    hf.label2id = {name: i for i, name in enumerate(labels)}
    return _checked_build(
        BertForSequenceClassification, hf, train, ffn=config.ffn_size, seq=train.seq_len
    )
