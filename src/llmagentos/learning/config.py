"""Model and training configurations, and the memory check that refuses oversized ones.

`CausalConfig` is a Llama-architecture decoder, `EncoderConfig` a BERT encoder. Both are
plain frozen dataclasses (they never cross the syscall boundary) and turn into the
`transformers` config with `to_hf`. `check_memory` estimates what a training run needs —
weights, gradients, AdamW state and activations — before anything is allocated.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmagentos.errors import InvalidArgument
from llmagentos.learning.errors import ConfigTooLarge

if TYPE_CHECKING:
    from transformers import BertConfig, LlamaConfig

GIB = 1024**3


def _positive(owner: object, *names: str) -> None:
    for name in names:
        value = getattr(owner, name)
        if value is not None and value <= 0:
            raise InvalidArgument(f"{type(owner).__name__}.{name} must be positive, got {value}")


@dataclass(frozen=True, slots=True)
class CausalConfig:
    """A Llama-style decoder: RMSNorm, rotary positions, SwiGLU MLP, tied embeddings."""

    hidden_size: int = 256
    layers: int = 4
    heads: int = 4
    kv_heads: int | None = None
    intermediate_size: int | None = None  # default: ~8/3 of hidden_size, a multiple of 32
    max_positions: int = 1024
    tie_embeddings: bool = True

    def __post_init__(self) -> None:
        _positive(self, "hidden_size", "layers", "heads", "kv_heads", "intermediate_size")
        _positive(self, "max_positions")
        if self.hidden_size % self.heads:
            raise InvalidArgument(
                f"hidden_size {self.hidden_size} must be a multiple of heads {self.heads}"
            )
        if self.heads % (self.kv_heads or self.heads):
            raise InvalidArgument(f"heads {self.heads} must be a multiple of kv_heads")

    @property
    def ffn_size(self) -> int:
        return self.intermediate_size or 32 * max(1, round(self.hidden_size * 8 / 3 / 32))

    def to_hf(self, vocab_size: int, *, pad_id: int, eos_id: int) -> LlamaConfig:
        from transformers import LlamaConfig

        return LlamaConfig(
            vocab_size=vocab_size,
            hidden_size=self.hidden_size,
            intermediate_size=self.ffn_size,
            num_hidden_layers=self.layers,
            num_attention_heads=self.heads,
            num_key_value_heads=self.kv_heads or self.heads,
            max_position_embeddings=self.max_positions,
            tie_word_embeddings=self.tie_embeddings,
            pad_token_id=pad_id,
            eos_token_id=eos_id,
            bos_token_id=None,
        )


@dataclass(frozen=True, slots=True)
class EncoderConfig:
    """A BERT encoder for masked-LM (and next-sentence) pretraining and classification."""

    hidden_size: int = 256
    layers: int = 4
    heads: int = 4
    intermediate_size: int | None = None  # default: 4 * hidden_size
    max_positions: int = 512
    dropout: float = 0.1

    def __post_init__(self) -> None:
        _positive(self, "hidden_size", "layers", "heads", "intermediate_size", "max_positions")
        if self.hidden_size % self.heads:
            raise InvalidArgument(
                f"hidden_size {self.hidden_size} must be a multiple of heads {self.heads}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise InvalidArgument(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def ffn_size(self) -> int:
        return self.intermediate_size or 4 * self.hidden_size

    def to_hf(self, vocab_size: int, *, pad_id: int) -> BertConfig:
        from transformers import BertConfig

        return BertConfig(
            vocab_size=vocab_size,
            hidden_size=self.hidden_size,
            num_hidden_layers=self.layers,
            num_attention_heads=self.heads,
            intermediate_size=self.ffn_size,
            max_position_embeddings=self.max_positions,
            hidden_dropout_prob=self.dropout,
            attention_probs_dropout_prob=self.dropout,
            pad_token_id=pad_id,
        )


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """How to train: steps, batch, schedule, seed, and how often to evaluate and checkpoint."""

    steps: int = 1000
    batch_size: int = 16
    seq_len: int = 256
    lr: float = 3e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 50
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    seed: int = 0
    eval_every: int = 200
    eval_batches: int = 8
    checkpoint_every: int = 100
    keep_checkpoints: int = 2
    log_every: int = 10
    threads: int | None = None
    max_memory_gb: float | None = None  # None: what the machine has available

    def __post_init__(self) -> None:
        _positive(self, "steps", "batch_size", "seq_len", "lr", "eval_every", "eval_batches")
        _positive(self, "checkpoint_every", "keep_checkpoints", "log_every", "threads")
        _positive(self, "max_memory_gb")
        if self.warmup_steps < 0 or not 0.0 <= self.min_lr_ratio <= 1.0:
            raise InvalidArgument("warmup_steps must be >= 0 and min_lr_ratio in [0, 1]")

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def fingerprint(self) -> dict[str, Any]:
        """The fields that change what training computes (not how often it reports)."""
        cadence = {"eval_every", "eval_batches", "checkpoint_every", "keep_checkpoints"}
        cadence |= {"log_every", "threads", "max_memory_gb"}
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in cadence}


# -- memory -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemoryEstimate:
    """Bytes a training step needs, by kind."""

    parameters: int
    weights: int
    optimizer: int
    activations: int

    @property
    def total(self) -> int:
        return self.weights + self.optimizer + self.activations

    def describe(self) -> str:
        return (
            f"{self.parameters / 1e6:.1f}M parameters: weights+grads {self.weights / GIB:.2f} GiB,"
            f" AdamW state {self.optimizer / GIB:.2f} GiB, activations"
            f" {self.activations / GIB:.2f} GiB"
        )


def estimate_memory(
    parameters: int,
    *,
    batch: int,
    seq: int,
    hidden: int,
    ffn: int,
    layers: int,
    heads: int,
    vocab: int,
) -> MemoryEstimate:
    """A deliberately generous fp32 estimate of one training step's peak memory."""
    per_token_layer = 16 * hidden + 4 * ffn  # saved inputs of norms, projections, MLP
    attention = 2 * heads * seq * seq  # probabilities and their gradient (math kernel)
    per_layer = batch * (seq * per_token_layer + attention)
    logits = 3 * batch * seq * vocab  # logits, log-softmax, gradient
    return MemoryEstimate(
        parameters=parameters,
        weights=2 * 4 * parameters,
        optimizer=2 * 4 * parameters,
        activations=4 * (layers * per_layer + logits),
    )


def available_memory() -> int:
    """Bytes of memory available now (MemAvailable on Linux, else physical memory)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * GIB


def check_memory(estimate: MemoryEstimate, max_memory_gb: float | None = None) -> None:
    """Raise `ConfigTooLarge` if `estimate` exceeds the limit (default: 80% of available)."""
    limit = int(max_memory_gb * GIB) if max_memory_gb else int(0.8 * available_memory())
    if estimate.total > limit:
        raise ConfigTooLarge(
            f"this training run needs about {estimate.total / GIB:.1f} GiB "
            f"({estimate.describe()}) but the limit is {limit / GIB:.1f} GiB; lower batch_size,"
            " seq_len, hidden_size or layers (or raise max_memory_gb if you know better)",
            needed_bytes=estimate.total,
            limit_bytes=limit,
        )
