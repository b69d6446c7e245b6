"""The sentiment monitor's offline double: a news lexicon (not a language model)."""

from __future__ import annotations

from llmagentos.apps.lexicon import sentiment_of
from llmagentos.llm.types import LLMRequest, Message
from llmagentos.testing import FunctionModel


def answer(messages: tuple[Message, ...], request: LLMRequest) -> str:
    return sentiment_of(messages[-1].content.partition(":")[2])


def model() -> FunctionModel:
    return FunctionModel(answer, name="sentiment-offline")
