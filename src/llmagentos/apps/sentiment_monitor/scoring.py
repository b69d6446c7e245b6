"""The analyst's classifier tool: `news_sentiment(headline)` on the `news-sentiment` model.

The model is a softmax head on the pretrained sentence encoder of long-term memory
(all-MiniLM-L6-v2, the `memory` extra); `llmagentos model train news-sentiment` rebuilds
it. The name resolves like any model, so one trained into the models directory under
`news-sentiment` replaces the shipped one. Calls go through the kernel as tool syscalls:
metered, permitted by the app's grants, journaled.
"""

from __future__ import annotations

import threading
from typing import Any

from llmagentos.errors import InvalidArgument, UnknownModel
from llmagentos.tools import Tool, tool

MODEL = "news-sentiment"
_lock = threading.Lock()
_loaded: dict[str, Any] = {}


def available() -> bool:
    """Whether the classifier can run here (its encoder installed, its model found)."""
    from llmagentos.learning import store
    from llmagentos.memory.embedders import real_embedder_available

    if not real_embedder_available():
        return False
    try:
        store.resolve(MODEL)
    except UnknownModel:
        return False
    return True


def classifier() -> Any:
    """The `news-sentiment` classifier, loaded once per process."""
    from llmagentos.learning import store
    from llmagentos.learning.embedding_classifier import EmbeddingClassifier

    with _lock:
        if MODEL not in _loaded:
            _loaded[MODEL] = EmbeddingClassifier.load(store.resolve(MODEL))
        return _loaded[MODEL]


@tool(side_effects=False, timeout_s=120)
def news_sentiment(headline: str) -> dict[str, Any]:
    """Label a news headline positive, negative or neutral, with the label's probability.

    Args:
        headline: The headline, e.g. "ACME shares rise after a strong quarter".
    """
    if not headline.strip():
        raise InvalidArgument("the headline is empty")
    found = classifier().classify([headline])[0]
    return {"label": found.label, "confidence": found.confidence, "scores": found.scores}


TOOLS: list[Tool[..., Any]] = [news_sentiment]
