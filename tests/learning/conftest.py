"""Fixtures for the training-stack tests: one torch thread, tiny configs, small corpora."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from llmagentos.learning.config import CausalConfig, EncoderConfig, TrainConfig


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> Iterator[None]:
    """The machine is shared: tests train on one thread."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test writes to the user's real models directory."""
    root = tmp_path / "models"
    monkeypatch.setenv("LLMAGENTOS_MODELS", str(root))
    return root


@pytest.fixture
def texts() -> list[str]:
    """A small corpus of multi-sentence documents."""
    colours = ["red", "blue", "green", "small", "large"]
    return [
        f"The {c} cat sat on mat {i}. It was a sunny day in town {i % 7}. "
        f"Later the {c} dog ran home."
        for i, c in enumerate(colours * 12)
    ]


@pytest.fixture
def tiny_causal() -> CausalConfig:
    return CausalConfig(hidden_size=32, layers=2, heads=2, max_positions=128)


@pytest.fixture
def tiny_encoder() -> EncoderConfig:
    return EncoderConfig(hidden_size=32, layers=2, heads=2, max_positions=64)


@pytest.fixture
def quick() -> TrainConfig:
    """A few steps on small batches: seconds, not minutes."""
    return TrainConfig(
        steps=8,
        batch_size=4,
        seq_len=32,
        lr=3e-3,
        warmup_steps=2,
        eval_every=4,
        eval_batches=2,
        checkpoint_every=4,
        log_every=2,
    )


@pytest.fixture(scope="session")
def chat_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny causal model with the chat tokenizer, pretrained for a few steps on the corpus."""
    pytest.importorskip("transformers")
    from llmagentos.learning import corpus
    from llmagentos.learning.pretrain import pretrain_causal
    from llmagentos.learning.tokenizer import train_bpe

    examples = corpus.generate(120, seed=0)
    tok = train_bpe([m["content"] for e in examples for m in e.messages], vocab_size=600)
    texts = [tok.apply_chat_template(list(e.messages), tokenize=False) for e in examples]
    out = tmp_path_factory.mktemp("chat") / "base"
    pretrain_causal(
        texts,
        out,
        tokenizer=tok,
        model=CausalConfig(hidden_size=32, layers=2, heads=2, max_positions=512),
        train_config=TrainConfig(steps=4, batch_size=4, seq_len=128, warmup_steps=1),
    )
    return out
