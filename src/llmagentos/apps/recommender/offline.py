"""The recommender's offline double: ranks candidates by tags shared with the history.

A rule, not a language model: it reads the prompt's liked items and candidates, scores
each candidate by the tags it shares with the liked items, and names the best ones.
"""

from __future__ import annotations

import re

from llmagentos.llm.types import LLMRequest, Message
from llmagentos.testing import FunctionModel

_TAGS = re.compile(r"\(([^()]*)\)\s*$")
_CANDIDATE = re.compile(r"^- ([a-z0-9-]+) \| (.+)$")
_BEST = re.compile(r"Recommend the best (\d+)")


def _tags(line: str) -> set[str]:
    found = _TAGS.search(line)
    return {t.strip() for t in found.group(1).split(",")} if found else set()


def answer(messages: tuple[Message, ...], request: LLMRequest) -> str:
    text = messages[-1].content
    liked_part, _, rest = text.partition("Candidates:")
    liked = set().union(*(_tags(line) for line in liked_part.splitlines()))
    scored = []
    for order, line in enumerate(rest.splitlines()):
        found = _CANDIDATE.match(line)
        if found:
            shared = sorted(_tags(found.group(2)) & liked)
            scored.append((-len(shared), order, found.group(1), shared))
    best = _BEST.search(text)
    k = int(best.group(1)) if best else 3
    lines = [
        f"{item}: shares {', '.join(shared) or 'a theme'} with what you liked."
        for _, _, item, shared in sorted(scored)[:k]
    ]
    return "\n".join(lines)


def model() -> FunctionModel:
    return FunctionModel(answer, name="recommender-offline")
