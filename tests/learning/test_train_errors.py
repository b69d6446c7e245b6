"""Bad input to the training stack comes back as typed errors, before work is wasted."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmagentos.errors import InvalidArgument, NotFound, RequestTooLarge, UserError
from llmagentos.learning.config import (
    CausalConfig,
    EncoderConfig,
    TrainConfig,
    check_memory,
    estimate_memory,
)
from llmagentos.learning.data import load_texts
from llmagentos.learning.errors import ConfigTooLarge, CorpusTooSmall, TrainingDiverged

pytest.importorskip("transformers")

from llmagentos.learning.masked import pretrain_masked
from llmagentos.learning.pretrain import pretrain_causal


@pytest.mark.parametrize("corpus", [[], ["", "   \n  "]])
def test_an_empty_corpus_is_refused(tmp_path: Path, corpus: list[str]) -> None:
    with pytest.raises(CorpusTooSmall, match="empty"):
        pretrain_causal(corpus, tmp_path / "m")
    with pytest.raises(CorpusTooSmall, match="empty"):
        pretrain_masked(corpus, tmp_path / "b")


def test_a_tiny_corpus_says_how_small_it_is(
    tmp_path: Path, tiny_causal: CausalConfig, quick: TrainConfig
) -> None:
    docs = ["The cat sat on the mat and looked at the door for a while. " * 4] * 3
    with pytest.raises(CorpusTooSmall, match=r"3 document\(s\).*seq_len 512"):
        pretrain_causal(
            docs,
            tmp_path / "m",
            model=tiny_causal,
            vocab_size=300,
            train_config=quick.replace(seq_len=512),
        )
    assert not (tmp_path / "m").exists()


def test_nsp_needs_multi_sentence_documents(tmp_path: Path, quick: TrainConfig) -> None:
    docs = [f"just one sentence number {i} about cats and dogs" for i in range(40)]
    with pytest.raises(CorpusTooSmall, match="two sentences"):
        pretrain_masked(docs, tmp_path / "b", train_config=quick, vocab_size=120)


def test_an_oversized_config_is_refused_before_allocating(tmp_path: Path, texts: list[str]) -> None:
    huge = CausalConfig(hidden_size=8192, layers=80, heads=64, max_positions=4096)
    with pytest.raises(ConfigTooLarge, match="GiB") as info:
        pretrain_causal(
            texts,
            tmp_path / "m",
            model=huge,
            vocab_size=300,
            train_config=TrainConfig(seq_len=32, batch_size=4),
        )
    assert isinstance(info.value, RequestTooLarge)
    assert info.value.details["needed_bytes"] > info.value.details["limit_bytes"]


def test_a_memory_limit_applies_to_small_configs_too(
    tmp_path: Path, texts: list[str], tiny_encoder: EncoderConfig, quick: TrainConfig
) -> None:
    with pytest.raises(ConfigTooLarge):
        pretrain_masked(
            texts,
            tmp_path / "b",
            model=tiny_encoder,
            vocab_size=200,
            train_config=quick.replace(max_memory_gb=1e-6),
        )


def test_memory_estimate_grows_with_batch_and_sequence() -> None:
    shape = {"hidden": 256, "ffn": 704, "layers": 4, "heads": 4, "vocab": 4096}
    small = estimate_memory(5_000_000, batch=8, seq=256, **shape)
    assert estimate_memory(5_000_000, batch=16, seq=256, **shape).total > small.total
    assert estimate_memory(5_000_000, batch=8, seq=1024, **shape).activations > small.activations
    assert small.weights == small.optimizer == 40_000_000
    check_memory(small)  # tens of MB fit anywhere


def test_a_diverging_run_stops_with_a_typed_error(
    tmp_path: Path, texts: list[str], tiny_causal: CausalConfig, quick: TrainConfig
) -> None:
    with pytest.raises(TrainingDiverged, match="learning rate"):
        pretrain_causal(
            texts,
            tmp_path / "m",
            model=tiny_causal,
            vocab_size=300,
            train_config=quick.replace(lr=1e12, warmup_steps=0, grad_clip=1e12),
        )


@pytest.mark.parametrize(
    "make",
    [
        lambda: CausalConfig(hidden_size=100, heads=3),
        lambda: CausalConfig(heads=4, kv_heads=3),
        lambda: EncoderConfig(dropout=1.5),
        lambda: TrainConfig(steps=0),
        lambda: TrainConfig(min_lr_ratio=2.0),
    ],
)
def test_invalid_configs_are_user_errors(make: object) -> None:
    with pytest.raises(InvalidArgument):
        make()  # type: ignore[operator]


def test_loading_a_corpus(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("first doc\nline two\n\nsecond doc\n")
    (tmp_path / "b.jsonl").write_text('{"text": "third"}\n\n{"text": "fourth"}\n')
    assert load_texts(tmp_path) == ["first doc\nline two", "second doc", "third", "fourth"]
    with pytest.raises(NotFound):
        load_texts(tmp_path / "missing")
    (tmp_path / "bad.jsonl").write_text('{"txt": 1}\n')
    with pytest.raises(InvalidArgument, match=r"bad\.jsonl:1"):
        load_texts(tmp_path / "bad.jsonl")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusTooSmall):
        load_texts(tmp_path / "empty")
    assert issubclass(CorpusTooSmall, UserError)
