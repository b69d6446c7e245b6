"""A classification head on a frozen sentence encoder: training, saving, loading, errors,
and the shipped `news-sentiment` classifier (real MiniLM where the `memory` extra is)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from llmagentos.learning import store
from llmagentos.learning.embedding_classifier import (
    EmbeddingClassifier,
    evaluate_embedding_classifier,
    news_sentiment_data,
    train_embedding_classifier,
    train_news_sentiment,
)
from llmagentos.learning.errors import CheckpointError, CorpusTooSmall, LabelMismatch
from llmagentos.memory.embedders import HashEmbedder, real_embedder_available

pytest.importorskip("torch")
needs_minilm = pytest.mark.skipif(
    not real_embedder_available(), reason="the `memory` extra is not installed"
)

WEATHER = [
    *((f"sunny and warm on day {i}", "fine") for i in range(10)),
    *((f"clear blue sky, warm sun, day {i}", "fine") for i in range(10)),
    *((f"heavy rain and storm on day {i}", "wet") for i in range(10)),
    *((f"storm clouds, rain all day {i}", "wet") for i in range(10)),
]


def test_a_head_learns_saves_and_loads(tmp_path: Path) -> None:
    done = train_embedding_classifier(WEATHER, tmp_path / "weather", encoder="hash", steps=100)
    assert done.metrics["accuracy"] == 1.0 and done.metrics["support"] == 8  # 20% held out
    assert done.parameters == 2 * 512 + 2
    manifest = store.read_manifest(done.path)
    assert manifest["kind"] == "embedding-classifier" and manifest["labels"] == ["fine", "wet"]
    clf = EmbeddingClassifier.load(done.path)
    got = clf.classify(["rain and storm tomorrow", "warm sunny sky"])
    assert [p.label for p in got] == ["wet", "fine"]
    assert got[0].confidence == got[0].scores["wet"] > 0.5
    assert abs(sum(got[0].scores.values()) - 1.0) < 1e-3
    assert clf.classify([]) == []
    # the models directory finds it by name, and `eval` scores it on labelled rows
    assert store.resolve("weather", tmp_path) == done.path
    assert [m.kind for m in store.list_models(tmp_path) if m.name == "weather"] == [
        "embedding-classifier"
    ]
    figures = evaluate_embedding_classifier(done.path, [("rain, storm", "wet"), ("sun", "fine")])
    assert figures["accuracy"] == 1.0


def test_the_same_seed_gives_the_same_head(tmp_path: Path) -> None:
    a = train_embedding_classifier(WEATHER, tmp_path / "a", encoder="hash", seed=3, steps=50)
    b = train_embedding_classifier(WEATHER, tmp_path / "b", encoder="hash", seed=3, steps=50)
    c = train_embedding_classifier(WEATHER, tmp_path / "c", encoder="hash", seed=4, steps=50)
    wa, wb, wc = (EmbeddingClassifier.load(x.path).weight for x in (a, b, c))
    assert np.array_equal(wa, wb) and not np.array_equal(wa, wc)


def test_bad_data_is_refused_with_a_typed_error(tmp_path: Path) -> None:
    out = tmp_path / "m"
    with pytest.raises(CorpusTooSmall, match="at least 4"):
        train_embedding_classifier([("a", "x"), ("  ", "y"), ("b", "y")], out, encoder="hash")
    with pytest.raises(LabelMismatch, match="not in the label set"):
        train_embedding_classifier(WEATHER, out, encoder="hash", labels=["fine", "snow"])
    with pytest.raises(LabelMismatch, match="at least two labels"):
        train_embedding_classifier([(f"t{i}", "only") for i in range(8)], out, encoder="hash")
    with pytest.raises(CorpusTooSmall, match="held-out"):
        train_embedding_classifier(WEATHER, out, encoder="hash", eval_examples=[(" ", "wet")])
    assert not out.exists()  # nothing half-written


def test_a_corrupt_or_foreign_model_folder_is_a_checkpoint_error(tmp_path: Path) -> None:
    done = train_embedding_classifier(WEATHER, tmp_path / "w", encoder="hash:64", steps=20)
    head = done.path / "head.safetensors"
    good = head.read_bytes()
    head.write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="missing or corrupt"):
        EmbeddingClassifier.load(done.path)
    head.write_bytes(good)
    # a head trained on 64-dimensional vectors does not run on another encoder's
    clf = EmbeddingClassifier.load(done.path, embedder=HashEmbedder(dim=128))
    with pytest.raises(CheckpointError, match="trained on 64"):
        clf.classify(["rain"])
    (done.path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(CheckpointError, match="not an embedding classifier"):
        EmbeddingClassifier.load(done.path)
    (done.path / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"no readable config\.json"):
        EmbeddingClassifier.load(done.path)


def test_the_shipped_data_holds_out_the_monitor_sample() -> None:
    from llmagentos.apps.sentiment_monitor.app import NEWS

    train_part, held = news_sentiment_data(0)
    assert len(train_part) == 3000 and len(held) == 300
    texts = {t.lower() for t, _ in [*train_part, *held]}
    assert not any(n["headline"].lower() in texts for n in NEWS)
    assert {lab for _, lab in held} == {"negative", "neutral", "positive"}


@needs_minilm
def test_the_shipped_news_classifier_labels_headlines_it_never_saw() -> None:
    from llmagentos.apps.sentiment_monitor.app import NEWS

    path = store.resolve("news-sentiment")
    assert store.read_manifest(path)["kind"] == "embedding-classifier"
    assert sum(f.stat().st_size for f in path.iterdir()) < 20_000  # a head, not a network
    clf = EmbeddingClassifier.load(path)
    got = [p.label for p in clf.classify([n["headline"] for n in NEWS])]
    assert sum(g == n["label"] for g, n in zip(got, NEWS, strict=True)) >= 6


@needs_minilm
def test_train_news_sentiment_reproduces_the_shipped_head(tmp_path: Path) -> None:
    shipped = EmbeddingClassifier.load(store.resolve("news-sentiment"))
    done = train_news_sentiment(tmp_path / "again")
    again = EmbeddingClassifier.load(done.path)
    assert again.labels == shipped.labels
    assert np.allclose(again.weight, shipped.weight, atol=1e-3)
    assert np.allclose(again.bias, shipped.bias, atol=1e-3)
    assert done.metrics["accuracy"] >= 0.95
