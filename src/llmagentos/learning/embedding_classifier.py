"""A classification head on a frozen, pretrained sentence encoder.

The seeds' classifier agent runs a pretrained model over a text and takes the argmax of
its output. The one pretrained model these machines have is the sentence encoder of
long-term memory (all-MiniLM-L6-v2, in the `memory` extra); it knows far more words than
anything trained here from scratch. This module fits a softmax layer (`labels x dim`
weights) on its embeddings: seconds to train, a few kilobytes to ship, and it labels
texts whose words never appeared in its training examples, because the encoder already
places "shares plunge" near "stock drops".

```python
head = train_embedding_classifier(pairs, out_dir, encoder="minilm")   # TrainedHead
clf = EmbeddingClassifier.load(out_dir)
clf.classify(["ACME shares plunge as regulators open a probe"])[0].label  # "negative"
```

A model directory holds `config.json` (encoder, labels, dimension), `head.safetensors` and
the `llmagentos.json` manifest (kind `embedding-classifier`, held-out metrics), so it
lives in the models directory and resolves by name like any other model.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from llmagentos.learning import store
from llmagentos.learning.classifier import Labelled, check_labels, stratified_split
from llmagentos.learning.errors import CheckpointError, CorpusTooSmall, TrainingDiverged
from llmagentos.learning.metrics import classification_report
from llmagentos.learning.progress import Reporter, SilentReporter

if TYPE_CHECKING:
    from llmagentos.memory.embedders import Embedder

KIND = "embedding-classifier"
MODEL_TYPE = "llmagentos-embedding-classifier"
HEAD = "head.safetensors"

__all__ = [
    "EmbeddingClassifier",
    "Prediction",
    "TrainedHead",
    "evaluate_embedding_classifier",
    "train_embedding_classifier",
    "train_news_sentiment",
]


@dataclass(frozen=True, slots=True)
class Prediction:
    """A text's label, the head's probability for it, and every label's probability."""

    label: str
    confidence: float
    scores: dict[str, float]


@dataclass(frozen=True, slots=True)
class TrainedHead:
    """A finished run: where the classifier was saved and its held-out figures."""

    path: Path
    metrics: dict[str, Any]
    parameters: int
    seconds: float


def _embedder(encoder: str) -> Embedder:
    from llmagentos.memory.embedders import make_embedder

    return make_embedder(encoder)


class EmbeddingClassifier:
    """Labels texts with a softmax layer over a sentence encoder's embeddings."""

    def __init__(
        self,
        encoder: str,
        labels: Sequence[str],
        weight: np.ndarray,
        bias: np.ndarray,
        embedder: Embedder | None = None,
    ) -> None:
        if weight.shape != (len(labels), weight.shape[1]) or bias.shape != (len(labels),):
            raise CheckpointError(
                f"head shapes {weight.shape} / {bias.shape} do not fit {len(labels)} labels"
            )
        self.encoder = encoder
        self.labels = list(labels)
        self.weight = weight.astype(np.float32)
        self.bias = bias.astype(np.float32)
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = _embedder(self.encoder)
        if self._embedder.dim != self.weight.shape[1]:
            raise CheckpointError(
                f"encoder {self._embedder.name!r} gives {self._embedder.dim}-dimensional"
                f" vectors; the head was trained on {self.weight.shape[1]}"
            )
        return self._embedder

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """`len(texts) x len(labels)` probabilities."""
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        logits = self.embedder.embed(list(texts)) @ self.weight.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True), dtype=np.float32)

    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        out: list[Prediction] = []
        for row in self.probabilities(texts):
            best = int(row.argmax())
            scores = {label: round(float(p), 4) for label, p in zip(self.labels, row, strict=True)}
            out.append(Prediction(self.labels[best], round(float(row[best]), 4), scores))
        return out

    def save(self, out_dir: Path, **manifest: Any) -> Path:
        """Write the classifier to `out_dir` (atomically replacing it)."""
        from safetensors.numpy import save_file

        tmp = out_dir.with_name(out_dir.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        config = {
            "model_type": MODEL_TYPE,
            "encoder": self.encoder,
            "labels": self.labels,
            "dim": int(self.weight.shape[1]),
        }
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        save_file({"weight": self.weight, "bias": self.bias}, str(tmp / HEAD))
        store.write_manifest(tmp, KIND, encoder=self.encoder, labels=self.labels, **manifest)
        return store.publish(tmp, out_dir)

    @classmethod
    def load(cls, path: str | Path, embedder: Embedder | None = None) -> EmbeddingClassifier:
        """Load a saved classifier; `CheckpointError` when its files are missing or bad."""
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        folder = Path(path)
        try:
            config = json.loads((folder / "config.json").read_text())
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"{folder} has no readable config.json: {exc}") from exc
        if not isinstance(config, dict) or config.get("model_type") != MODEL_TYPE:
            raise CheckpointError(f"{folder} is not an embedding classifier (see its config.json)")
        try:
            tensors = load_file(str(folder / HEAD))
            weight, bias = tensors["weight"], tensors["bias"]
        except (OSError, KeyError, SafetensorError) as exc:
            raise CheckpointError(f"{folder / HEAD} is missing or corrupt: {exc}") from exc
        labels = config.get("labels")
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise CheckpointError(f"{folder}/config.json: labels must be a list of strings")
        return cls(str(config.get("encoder", "minilm")), labels, weight, bias, embedder)


def _fit(
    x: np.ndarray,
    y: np.ndarray,
    n_labels: int,
    *,
    steps: int,
    lr: float,
    weight_decay: float,
    seed: int,
    reporter: Reporter,
) -> tuple[np.ndarray, np.ndarray]:
    """Full-batch softmax regression with Adam (torch), seeded."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    inputs, targets = torch.from_numpy(x), torch.from_numpy(y)
    weight = (torch.randn(n_labels, x.shape[1], generator=gen) * 0.01).requires_grad_()
    bias = torch.zeros(n_labels, requires_grad=True)
    opt = torch.optim.Adam([weight, bias], lr=lr, weight_decay=weight_decay)
    reporter.start("fitting the head", steps, 0)
    for step in range(1, steps + 1):
        opt.zero_grad()
        loss: Any = torch.nn.functional.cross_entropy(inputs @ weight.T + bias, targets)
        if not torch.isfinite(loss):
            raise TrainingDiverged(f"the loss became {loss.item()} at step {step}; lower --lr")
        loss.backward()
        opt.step()
        if step % 25 == 0 or step == steps:
            reporter.step(step, {"loss": round(float(loss.item()), 4)})
    reporter.close()
    return weight.detach().numpy(), bias.detach().numpy()


def _embed_all(emb: Embedder, texts: list[str], rep: Reporter, chunk: int = 256) -> np.ndarray:
    """Embed `texts` a chunk at a time, with a progress bar (MiniLM: ~200 texts/s here)."""
    rep.start(f"embedding with {emb.name}", len(texts), 0)
    parts = []
    for start in range(0, len(texts), chunk):
        parts.append(emb.embed(texts[start : start + chunk]))
        rep.step(min(start + chunk, len(texts)), {})
    rep.close()
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


def train_embedding_classifier(
    examples: Sequence[Labelled],
    out_dir: Path,
    *,
    encoder: str = "minilm",
    labels: Sequence[str] | None = None,
    eval_examples: Sequence[Labelled] | None = None,
    heldout_fraction: float = 0.2,
    steps: int = 300,
    lr: float = 0.02,
    weight_decay: float = 0.0,
    seed: int = 0,
    embedder: Embedder | None = None,
    reporter: Reporter | None = None,
    **manifest: Any,
) -> TrainedHead:
    """Fit a head on `(text, label)` pairs; accuracy and F1 come from held-out examples
    (`eval_examples`, else a stratified `heldout_fraction` of the data)."""
    started = time.perf_counter()
    rep = reporter or SilentReporter()
    examples = [(t, lab) for t, lab in examples if t.strip()]
    if len(examples) < 4:
        raise CorpusTooSmall(
            f"a classifier needs at least 4 labelled examples, got {len(examples)}"
        )
    if eval_examples is None:
        train_part, held = stratified_split(examples, heldout_fraction, seed)
    else:
        train_part, held = examples, [(t, lab) for t, lab in eval_examples if t.strip()]
    if not held:
        raise CorpusTooSmall("no examples are left for the held-out split; add examples")
    names = check_labels(train_part, held, labels, None)
    emb = embedder or _embedder(encoder)
    x = _embed_all(emb, [t for t, _ in train_part], rep)
    index = {n: i for i, n in enumerate(names)}
    y = np.asarray([index[lab] for _, lab in train_part], dtype=np.int64)
    weight, bias = _fit(
        x,
        y,
        len(names),
        steps=steps,
        lr=lr,
        weight_decay=weight_decay,
        seed=seed,
        reporter=rep,
    )
    clf = EmbeddingClassifier(encoder, names, weight, bias, emb)
    predicted = [p.label for p in clf.classify([t for t, _ in held])]
    metrics: dict[str, Any] = classification_report([lab for _, lab in held], predicted, names)
    seconds = round(time.perf_counter() - started, 1)
    parameters = int(weight.size + bias.size)
    path = clf.save(
        out_dir,
        parameters=parameters,
        train={
            "steps": steps,
            "lr": lr,
            "weight_decay": weight_decay,
            "seed": seed,
            "examples": len(train_part),
            "heldout": len(held),
        },
        metrics=metrics,
        seconds=seconds,
        **manifest,
    )
    return TrainedHead(path, metrics, parameters, seconds)


NEWS_SENTIMENT = "news-sentiment"


def news_sentiment_data(seed: int = 0) -> tuple[list[Labelled], list[Labelled]]:
    """The shipped news-sentiment head's data: (train, held-out).

    Training: 1,500 company headlines and 1,500 product reviews from the corpus's training
    split (reviews teach polarity in general; headlines the three labels' sense in news).
    Held out: 300 headlines from the evaluation split (event/frame pairs never trained on).
    None of the sentiment monitor's sample headlines is among the corpus phrases.
    """
    from llmagentos.learning.corpus import classify

    train_part = classify.news_headlines(seed, 1500, "train")
    train_part += classify.labelled_texts(seed, 1500, "train", "sentiment")
    return train_part, classify.news_headlines(seed, 300, "eval")


def train_news_sentiment(
    out_dir: Path,
    *,
    encoder: str = "minilm",
    seed: int = 0,
    embedder: Embedder | None = None,
    reporter: Reporter | None = None,
) -> TrainedHead:
    """Reproduce the shipped `news-sentiment` classifier (`llmagentos model train
    news-sentiment`): a linear head on MiniLM embeddings, 300 full-batch Adam steps."""
    train_part, held = news_sentiment_data(seed)
    return train_embedding_classifier(
        train_part,
        out_dir,
        encoder=encoder,
        labels=["negative", "neutral", "positive"],
        eval_examples=held,
        seed=seed,
        embedder=embedder,
        reporter=reporter,
        recipe=NEWS_SENTIMENT,
        data="corpus: 1,500 headlines + 1,500 reviews (train split); held out: 300 headlines",
    )


def evaluate_embedding_classifier(path: str | Path, rows: Sequence[Labelled]) -> dict[str, Any]:
    """Accuracy, per-label F1 and macro F1 of a saved head on `(text, label)` rows."""
    clf = EmbeddingClassifier.load(path)
    rows = [(t, lab) for t, lab in rows if t.strip()]
    if not rows:
        raise CorpusTooSmall("no labelled rows to evaluate on")
    predicted = [p.label for p in clf.classify([t for t, _ in rows])]
    return classification_report([lab for _, lab in rows], predicted, clf.labels)
