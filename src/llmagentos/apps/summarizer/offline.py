"""The summarizer's offline double: extractive, picks the text's most central sentence.

A rule, not a language model: each sentence is scored by how many of the text's frequent
content words it holds (the lead sentence wins ties), and the best one is the summary.
"""

from __future__ import annotations

import re
from collections import Counter

from llmagentos.llm.types import LLMRequest, Message
from llmagentos.testing import FunctionModel

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[a-zA-Z']+")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
        "which",
        "who",
        "more",
        "next",
    ]
)


def extract(text: str) -> str:
    """The sentence of `text` that best covers its frequent words."""
    sentences = [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]
    if not sentences:
        return ""
    counts = Counter(w.lower() for w in _WORD.findall(text) if w.lower() not in _STOP)

    def score(item: tuple[int, str]) -> tuple[float, int]:
        index, sentence = item
        words = [w.lower() for w in _WORD.findall(sentence) if w.lower() not in _STOP]
        return (sum(counts[w] for w in set(words)) / (1 + len(words)) ** 0.5, -index)

    return max(enumerate(sentences), key=score)[1]


def model() -> FunctionModel:
    """A model double that answers "Summarize this text: ..." extractively."""

    def answer(messages: tuple[Message, ...], request: LLMRequest) -> str:
        prompt = messages[-1].content
        _, _, text = prompt.partition(":")
        return extract(text or prompt)

    return FunctionModel(answer, name="summarizer-offline")
