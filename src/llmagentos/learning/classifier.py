"""Fine-tuning a sequence-classification head (intent, sentiment) with held-out metrics.

The base is a model this stack pretrained (a BERT encoder or a causal LM: `transformers`
puts a classification head on either) or, with no base, a small encoder trained from
scratch with its own WordPiece tokenizer. A stratified, seeded split of the examples is
held out; accuracy and F1 on it are reported and saved in the manifest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmagentos.learning.build import (
    build_encoder_classifier,
    quiet_transformers,
    seed_everything,
)
from llmagentos.learning.config import EncoderConfig, TrainConfig, check_memory, estimate_memory
from llmagentos.learning.data import ExampleBatches, Record
from llmagentos.learning.errors import CorpusTooSmall, LabelMismatch
from llmagentos.learning.loop import train
from llmagentos.learning.metrics import classification_report
from llmagentos.learning.pretrain import Trained, count_params, digest, run_tokenizer, save_model
from llmagentos.learning.progress import Reporter
from llmagentos.learning.store import read_manifest
from llmagentos.learning.tokenizer import HFTokenizer, train_wordpiece

if TYPE_CHECKING:
    from torch import nn

Labelled = tuple[str, str]


def stratified_split(
    examples: Sequence[Labelled], fraction: float, seed: int
) -> tuple[list[Labelled], list[Labelled]]:
    """Hold out `fraction` of each label's examples (none of a label with only one)."""
    import random

    by_label: dict[str, list[Labelled]] = defaultdict(list)
    for ex in examples:
        by_label[ex[1]].append(ex)
    rng = random.Random(f"split:{seed}")
    train_part: list[Labelled] = []
    held: list[Labelled] = []
    for label in sorted(by_label):
        items = by_label[label][:]
        rng.shuffle(items)
        n = max(1, round(len(items) * fraction)) if len(items) > 1 else 0
        held += items[:n]
        train_part += items[n:]
    return train_part, held


def check_labels(
    train_part: Sequence[Labelled],
    held: Sequence[Labelled],
    labels: Sequence[str] | None,
    base_labels: Sequence[str] | None,
) -> list[str]:
    """The label list to train with; `LabelMismatch` when the sets disagree."""
    seen = sorted({label for _, label in train_part})
    names = list(labels) if labels is not None else seen
    if base_labels is not None and sorted(base_labels) != sorted(names):
        raise LabelMismatch(
            f"the base classifier was trained for labels {list(base_labels)}, not {names}; "
            "fine-tune from its pretrained base model instead"
        )
    names = list(base_labels) if base_labels is not None and labels is None else names
    if len(set(names)) < 2:
        raise LabelMismatch(f"a classifier needs at least two labels, got {names}")
    if len(set(names)) != len(names):
        raise LabelMismatch(f"the label list has duplicates: {names}")
    unknown = sorted({lab for _, lab in [*train_part, *held]} - set(names))
    if unknown:
        raise LabelMismatch(f"the data has labels {unknown} that are not in the label set {names}")
    untrained = sorted(set(names) - set(seen))
    if untrained:
        raise LabelMismatch(f"labels {untrained} have no training examples; add some or drop them")
    return names


def _base_labels(base: Path | None) -> list[str] | None:
    if base is None:
        return None
    manifest = read_manifest(base)
    return list(manifest["labels"]) if manifest.get("kind") == "classifier" else None


def _load(
    base: Path | None,
    texts: Sequence[str],
    names: list[str],
    tc: TrainConfig,
    run: Path,
    restart: bool,
) -> tuple[nn.Module, HFTokenizer]:
    """The model with a fresh head for `names`, and its tokenizer (after a memory check)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging

    quiet_transformers()
    id2label = dict(enumerate(names))
    label2id = {n: i for i, n in id2label.items()}
    if base is None:
        tok = run_tokenizer(run, lambda: train_wordpiece(texts, 2048), restart)
        small = EncoderConfig(hidden_size=128, layers=2, heads=2)
        net = build_encoder_classifier(
            small, len(tok), tc, pad_id=tok.pad_token_id or 0, labels=names
        )
        return net, tok
    tok = AutoTokenizer.from_pretrained(str(base))
    seed_everything(tc.seed)  # the new head's initial weights
    hf_logging: Any = logging  # unannotated upstream
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "newly initialized head weights" is the point here
    try:
        net = AutoModelForSequenceClassification.from_pretrained(
            str(base),
            num_labels=len(names),
            id2label=id2label,
            label2id=label2id,
            ignore_mismatched_sizes=True,
            dtype="float32",
        )
    finally:
        hf_logging.set_verbosity(verbosity)
    if net.config.pad_token_id is None:
        net.config.pad_token_id = tok.pad_token_id
    cfg = net.config
    check_memory(
        estimate_memory(
            count_params(net),
            batch=tc.batch_size,
            seq=tc.seq_len,
            hidden=cfg.hidden_size,
            ffn=cfg.intermediate_size,
            layers=cfg.num_hidden_layers,
            heads=cfg.num_attention_heads,
            vocab=0,
        ),
        tc.max_memory_gb,
    )
    return net, tok


def predict(
    net: nn.Module,
    tok: HFTokenizer,
    texts: Sequence[str],
    max_length: int,
    batch_size: int = 32,
) -> list[int]:
    """Predicted label ids for `texts`."""
    import torch

    net.eval()
    out: list[int] = []
    with torch.no_grad():
        for i in range(0, len(texts), batch_size):
            enc = tok(
                list(texts[i : i + batch_size]),
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            out += net(**enc).logits.argmax(-1).tolist()
    return out


def finetune_classifier(
    examples: Sequence[Labelled],
    out_dir: Path,
    *,
    base: Path | None = None,
    labels: Sequence[str] | None = None,
    eval_examples: Sequence[Labelled] | None = None,
    heldout_fraction: float = 0.2,
    train_config: TrainConfig | None = None,
    run_dir: Path | None = None,
    reporter: Reporter | None = None,
    restart: bool = False,
) -> Trained:
    """Fine-tune a classifier on `(text, label)` pairs; metrics come from a held-out split."""
    tc = train_config or TrainConfig(steps=300, batch_size=16, seq_len=128, lr=5e-4)
    examples = [(t, lab) for t, lab in examples if t.strip()]
    if len(examples) < 4:
        raise CorpusTooSmall(
            f"a classifier needs at least 4 labelled examples, got {len(examples)}"
        )
    if eval_examples is None:
        train_part, held = stratified_split(examples, heldout_fraction, tc.seed)
    else:
        train_part, held = list(examples), [(t, lab) for t, lab in eval_examples if t.strip()]
    if not held:
        raise CorpusTooSmall("no examples are left for the held-out split; add examples")
    names = check_labels(train_part, held, labels, _base_labels(base))
    run = run_dir or out_dir.with_name(out_dir.name + ".run")
    net, tok = _load(base, [t for t, _ in train_part], names, tc, run, restart)
    index = {n: i for i, n in enumerate(names)}

    def records(part: Sequence[Labelled]) -> list[Record]:
        ids = tok([t for t, _ in part], truncation=True, max_length=tc.seq_len)["input_ids"]
        return [
            {"input_ids": i, "labels": index[lab]} for i, (_, lab) in zip(ids, part, strict=True)
        ]

    pad = {"input_ids": tok.pad_token_id or 0}
    data = ExampleBatches(records(train_part), tc.batch_size, seed=tc.seed, pad=pad)
    evals = ExampleBatches(records(held), tc.batch_size, seed=tc.seed, pad=pad)
    fingerprint = {"base": str(base), "labels": names, "data": digest(train_part)}
    result = train(
        net,
        data,
        tc,
        run,
        eval_data=evals,
        fingerprint=fingerprint,
        title="fine-tuning (classifier)",
        reporter=reporter,
        restart=restart,
    )
    predicted = predict(net, tok, [t for t, _ in held], tc.seq_len)
    report = classification_report([lab for _, lab in held], [names[p] for p in predicted], names)
    metrics: dict[str, Any] = {"eval_loss": result.eval_loss, **report}
    path = save_model(
        net,
        tok,
        out_dir,
        "classifier",
        labels=names,
        base=str(base),
        parameters=count_params(net),
        train=asdict(tc),
        metrics=metrics,
        seconds=round(result.seconds, 1),
    )
    return Trained(path, result, count_params(net), metrics)
