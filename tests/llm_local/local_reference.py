"""Helpers the local-core tests import (a module of its own: `conftest` names clash when
several test folders run in one pytest call)."""

from __future__ import annotations

from typing import Any

import torch


def greedy_reference(model: Any, prompt: list[int], n: int, eos: int | None = None) -> list[int]:
    """Greedy tokens from full forward passes with no cache at all: the plain definition."""
    ids = list(prompt)
    with torch.no_grad():
        for _ in range(n):
            logits = model(input_ids=torch.tensor([ids])).logits[0, -1]
            token = int(logits.argmax())
            ids.append(token)
            if token == eos:
                break
    return ids[len(prompt) :]


def prompts(tokenizer: Any, count: int) -> list[list[int]]:
    """`count` prompts of different lengths (3 to ~90 tokens), some sharing prefixes."""
    from llmagentos.llm.local.tiny import sentences

    texts = sentences(count, seed=7)
    out = []
    for i, text in enumerate(texts):
        body = (text + " ") * (1 + i % 4)
        if i % 3 == 0:
            body = "system: you are an agent that calls tools. " + body
        out.append(tokenizer.encode(body.strip()))
    return out
