"""The pipeline's offline double: lexicon sentiment and glossary French (not a model)."""

from __future__ import annotations

from llmagentos.apps.lexicon import sentiment_of, to_french
from llmagentos.llm.types import LLMRequest, Message
from llmagentos.testing import FunctionModel


def answer(messages: tuple[Message, ...], request: LLMRequest) -> str:
    prompt = messages[-1].content
    if prompt.startswith("Classify the sentiment"):
        return sentiment_of(prompt.partition("Review:")[2])
    head, _, text = prompt.partition(": ")
    if head.startswith("Translate") and head.endswith("French"):
        return to_french(text)
    return f"(no translation for this language offline) {text}"


def model() -> FunctionModel:
    return FunctionModel(answer, name="classify-translate-offline")
