"""Embedders: the dependency-free fallback, the real model (when installed), the factory."""

from __future__ import annotations

import numpy as np
import pytest

from llmagentos.errors import InvalidArgument
from llmagentos.memory import (
    Embedder,
    HashEmbedder,
    MiniLMEmbedder,
    make_embedder,
    real_embedder_available,
)


def cos(e: Embedder, a: str, b: str) -> float:
    va, vb = e.embed([a, b])
    return float(va @ vb)


def test_hash_embedder_is_stable_normalised_and_lexical() -> None:
    e = HashEmbedder()
    assert isinstance(e, Embedder)
    v = e.embed(["Paris is the capital of France", ""])
    assert v.shape == (2, e.dim) and v.dtype == np.float32
    assert np.linalg.norm(v[0]) == pytest.approx(1.0, abs=1e-5)
    assert not v[1].any()  # nothing to hash: a zero vector, never NaN
    # the same text gives the same vector in any process (crc32, not the salted hash())
    assert np.array_equal(e.embed(["kettle"]), HashEmbedder().embed(["kettle"]))
    assert cos(e, "capital of France", "Paris is the capital of France") > 0.5
    assert cos(e, "the kettles", "a kettle") > 0.4  # character n-grams see word pieces
    assert cos(e, "kitchen kettle", "Berlin is the capital of Germany") < e.min_score


def test_factory_specs() -> None:
    assert isinstance(make_embedder("hash"), HashEmbedder)
    assert make_embedder("hash:64").dim == 64
    custom = HashEmbedder(dim=32)
    assert make_embedder(custom) is custom
    auto = make_embedder("auto")
    assert isinstance(auto, MiniLMEmbedder if real_embedder_available() else HashEmbedder)
    for bad in ("word2vec", "hash:x"):
        with pytest.raises(InvalidArgument):
            make_embedder(bad)
    with pytest.raises(InvalidArgument):
        HashEmbedder(dim=4)


@pytest.mark.skipif(not real_embedder_available(), reason="the `memory` extra is not installed")
def test_real_model_understands_paraphrases() -> None:
    e = MiniLMEmbedder()
    fact = "The office Wi-Fi password is bluefalcon42."
    question = "How do I get on the wireless network at work?"
    unrelated = "My sister adopted a grey cat last spring."
    vecs = e.embed([fact, question, unrelated, "x " * 3000])  # the last one is chunked
    assert vecs.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    assert float(vecs[0] @ vecs[1]) > float(vecs[2] @ vecs[1]) + 0.1
    assert float(vecs[0] @ vecs[1]) > e.min_score > float(vecs[2] @ vecs[1])
