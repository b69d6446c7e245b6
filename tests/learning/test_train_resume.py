"""Checkpoints: an interrupted run resumes exactly; corrupt or foreign checkpoints are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmagentos.learning.config import CausalConfig, TrainConfig
from llmagentos.learning.errors import CheckpointError

pytest.importorskip("transformers")

from llmagentos.learning.checkpoint import checkpoints
from llmagentos.learning.pretrain import pretrain_causal
from llmagentos.learning.progress import SilentReporter


class StopAt(SilentReporter):
    """Presses Ctrl-C when the run reports step `at`."""

    def __init__(self, at: int) -> None:
        self.at = at

    def step(self, step: int, metrics: dict[str, float]) -> None:
        if step == self.at:
            raise KeyboardInterrupt


def run(texts: list[str], out: Path, cfg: CausalConfig, tc: TrainConfig, **kw: object) -> object:
    return pretrain_causal(texts, out, model=cfg, train_config=tc, vocab_size=300, **kw)  # type: ignore[arg-type]


def test_interrupted_run_resumes_to_the_same_weights(
    tmp_path: Path, texts: list[str], tiny_causal: CausalConfig, quick: TrainConfig
) -> None:
    import torch
    from safetensors.torch import load_file

    tc = quick.replace(checkpoint_every=100)  # only the interrupt and the end checkpoint
    run(texts, tmp_path / "straight", tiny_causal, tc)
    with pytest.raises(KeyboardInterrupt):
        run(texts, tmp_path / "stopped", tiny_causal, tc, reporter=StopAt(4))
    assert [p.name for p in checkpoints(tmp_path / "stopped.run")] == ["step-00000004"]
    assert not (tmp_path / "stopped").exists()
    resumed = run(texts, tmp_path / "stopped", tiny_causal, tc)
    assert resumed.result.resumed_from == 4  # type: ignore[attr-defined]
    a = load_file(str(tmp_path / "straight" / "model.safetensors"))
    b = load_file(str(tmp_path / "stopped" / "model.safetensors"))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_old_checkpoints_are_pruned_and_a_finished_run_is_not_redone(
    tmp_path: Path, texts: list[str], tiny_causal: CausalConfig, quick: TrainConfig
) -> None:
    tc = quick.replace(checkpoint_every=2, keep_checkpoints=2)
    run(texts, tmp_path / "m", tiny_causal, tc)
    assert [p.name for p in checkpoints(tmp_path / "m.run")] == ["step-00000006", "step-00000008"]
    again = run(texts, tmp_path / "m", tiny_causal, tc)
    assert again.result.resumed_from == 8 and again.result.loss is not None  # type: ignore[attr-defined]


def _stopped_run(tmp_path: Path, texts: list[str], cfg: CausalConfig, tc: TrainConfig) -> Path:
    with pytest.raises(KeyboardInterrupt):
        run(texts, tmp_path / "m", cfg, tc, reporter=StopAt(4))
    return checkpoints(tmp_path / "m.run")[-1]


@pytest.mark.parametrize("damage", ["weights", "state", "optimizer"])
def test_a_corrupt_checkpoint_is_a_typed_error(
    tmp_path: Path, texts: list[str], tiny_causal: CausalConfig, quick: TrainConfig, damage: str
) -> None:
    ckpt = _stopped_run(tmp_path, texts, tiny_causal, quick)
    target = {
        "weights": "model.safetensors",
        "state": "trainer.json",
        "optimizer": "optimizer.pt",
    }[damage]
    data = (ckpt / target).read_bytes()
    (ckpt / target).write_bytes(data[: len(data) // 3])
    with pytest.raises(CheckpointError, match="unusable"):
        run(texts, tmp_path / "m", tiny_causal, quick)
    # Starting over is always possible.
    done = run(texts, tmp_path / "m", tiny_causal, quick, restart=True)
    assert done.result.resumed_from is None  # type: ignore[attr-defined]


def test_a_checkpoint_of_another_config_is_refused(
    tmp_path: Path, texts: list[str], tiny_causal: CausalConfig, quick: TrainConfig
) -> None:
    _stopped_run(tmp_path, texts, tiny_causal, quick)
    with pytest.raises(CheckpointError, match="lr") as info:
        run(texts, tmp_path / "m", tiny_causal, quick.replace(lr=1e-4))
    assert info.value.details["differs"] == ["train.lr"]
    wider = CausalConfig(hidden_size=64, layers=2, heads=2, max_positions=128)
    with pytest.raises(CheckpointError, match=r"model\.hidden_size"):
        run(texts, tmp_path / "m", wider, quick)


def test_checkpoint_state_holds_step_rng_and_data_position(
    tmp_path: Path, texts: list[str], tiny_causal: CausalConfig, quick: TrainConfig
) -> None:
    ckpt = _stopped_run(tmp_path, texts, tiny_causal, quick)
    state = json.loads((ckpt / "trainer.json").read_text())
    assert state["step"] == 4
    assert state["torch_rng"] and state["python_rng"]
    assert state["extra"]["tokens"] > 0
    assert {"train", "model", "data", "vocab"} <= set(state["fingerprint"])
