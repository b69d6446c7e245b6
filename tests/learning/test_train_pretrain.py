"""Pretraining from scratch: causal LM and masked LM (+ NSP) on tiny configs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from llmagentos.learning.config import CausalConfig, EncoderConfig, TrainConfig
from llmagentos.learning.store import read_manifest

pytest.importorskip("transformers")

from llmagentos.learning.masked import pretrain_masked
from llmagentos.learning.pretrain import pretrain_causal


def weights(path: Path) -> dict[str, object]:
    from safetensors.torch import load_file

    return dict(load_file(str(path / "model.safetensors")))


def logged(run: Path) -> list[dict[str, float]]:
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def test_causal_pretraining_learns_saves_and_reports_perplexity(
    tmp_path: Path, texts: list[str], tiny_causal: CausalConfig, quick: TrainConfig
) -> None:
    out = tmp_path / "lm"
    done = pretrain_causal(texts, out, model=tiny_causal, train_config=quick, vocab_size=300)
    assert done.path == out
    assert math.isclose(done.metrics["perplexity"], math.exp(done.metrics["eval_loss"]))
    log = logged(tmp_path / "lm.run")
    losses = [e["loss"] for e in log if "loss" in e]
    assert losses[-1] < losses[0]
    assert any("eval_loss" in e for e in log)
    manifest = read_manifest(out)
    assert manifest["kind"] == "causal-lm" and manifest["parameters"] == done.parameters

    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(out))
    tok = AutoTokenizer.from_pretrained(str(out))
    ids = tok("The red cat", return_tensors="pt")["input_ids"]
    assert model.generate(ids, max_new_tokens=3, do_sample=False).shape[1] <= ids.shape[1] + 3
    assert tok.chat_template  # the chat format travels with the model


def test_same_seed_same_weights_other_seed_other_weights(
    tmp_path: Path, texts: list[str], tiny_causal: CausalConfig, quick: TrainConfig
) -> None:
    runs = {}
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        cfg = quick.replace(seed=seed, steps=4)
        pretrain_causal(texts, tmp_path / name, model=tiny_causal, train_config=cfg, vocab_size=300)
        runs[name] = weights(tmp_path / name)
    import torch

    assert all(torch.equal(runs["a"][k], runs["b"][k]) for k in runs["a"])  # type: ignore[arg-type]
    assert not all(torch.equal(runs["a"][k], runs["c"][k]) for k in runs["a"])  # type: ignore[arg-type]


@pytest.mark.parametrize("nsp", [True, False])
def test_masked_pretraining_with_and_without_next_sentence(
    tmp_path: Path, texts: list[str], tiny_encoder: EncoderConfig, quick: TrainConfig, nsp: bool
) -> None:
    out = tmp_path / "bert"
    done = pretrain_masked(
        texts, out, model=tiny_encoder, train_config=quick, nsp=nsp, vocab_size=200
    )
    assert done.metrics["eval_loss"] is not None and done.metrics["perplexity"] > 1
    manifest = read_manifest(out)
    assert manifest["kind"] == "masked-lm"
    assert manifest["objective"] == ("mlm+nsp" if nsp else "mlm")
    arch = json.loads((out / "config.json").read_text())["architectures"]
    assert arch == (["BertForPreTraining"] if nsp else ["BertForMaskedLM"])


def test_masking_is_a_function_of_the_step(texts: list[str]) -> None:
    import torch

    from llmagentos.learning.masked import Masker
    from llmagentos.learning.tokenizer import train_wordpiece

    tok = train_wordpiece(texts, vocab_size=150)
    batch = dict(tok(texts[:4], padding=True, return_tensors="pt"))
    masker = Masker(tok, seed=3)
    first, again, other = masker(batch, 7), masker(batch, 7), masker(batch, 8)
    assert torch.equal(first["labels"], again["labels"])
    assert not torch.equal(first["labels"], other["labels"])
    special = torch.isin(batch["input_ids"], torch.tensor(tok.all_special_ids))
    assert (first["labels"][special] == -100).all()  # [CLS]/[SEP]/[PAD] are never targets
