"""`summarize(text)`, the seed's API, and the app's program around it.

```python
from llmagentos.apps.summarizer.app import summarize

summary = summarize("A long article ...")   # in a sync program, or on the default runtime
```

`summarize` calls the model through `LLM().generate_text`, so inside a process it is that
process's system call, and outside any process it runs on the default runtime's kernel.

Summaries are extractive by default: the model's reply is guided to be one of the text's
own sentences (`response_format` `choice`, `llm.guides`), so the model chooses which
sentence sums the text up and cannot make up one (the built-in model, left free, writes
fluent sentences about names that are not in the text). `extractive=False` lets a capable
model write its own.

The app checks every summary against its text either way (`grounding`): the share of the
summary's content words that occur in the text. A summary below `GROUNDED` is reported as
not grounded rather than passed off as one.
"""

from __future__ import annotations

import re
from typing import Any

from llmagentos.kernel.context import SyncContext
from llmagentos.sdk.llm import LLM

SAMPLE = (
    "The city council approved the new cycling plan on Tuesday. The plan adds forty"
    " kilometres of protected lanes over three years. Work on the first section starts in"
    " May. Shop owners on Main Street asked for more parking during the works. The council"
    " will publish a map of the lanes next week."
)

model = LLM()  # the kernel's default model: the app's model
GROUNDED = 0.6
"""The share of a summary's content words that must occur in its text."""
_WORD = re.compile(r"[a-z0-9']+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_STOP = frozenset(
    re.findall(
        r"\w+",
        "a an and are as at be by for from has have in is it its of on or that the their this"
        " to was were will with",
    )
)


def grounding(summary: str, text: str) -> float:
    """The share of `summary`'s content words (lower-cased, stop words left out) found in
    `text`; 0.0 for a summary with none."""
    source = set(_WORD.findall(text.lower()))
    words = [w for w in _WORD.findall(summary.lower()) if w not in _STOP]
    return sum(w in source for w in words) / len(words) if words else 0.0


def sentences(text: str) -> list[str]:
    """The sentences of `text`, in order (split after '.', '!' or '?')."""
    return [s for s in _SENTENCE.split(text.strip()) if s]


def summarize(text: str, max_length: int = 100, extractive: bool = True) -> str:
    """A short summary of `text` (at most `max_length` tokens) by the model: one of the
    text's sentences, the one the model picks, unless `extractive` is False."""
    prompt = f"Summarize this text: {text}"
    options = sentences(text)
    if extractive and len(options) > 1:
        fmt = {"type": "choice", "choices": options}
        return model.generate_text(prompt, max_length=max_length, response_format=fmt)
    return model.generate_text(prompt, max_length=max_length)


def main(
    ctx: SyncContext,
    text: str | None = None,
    texts: list[str] | None = None,
    max_length: int = 100,
    extractive: bool = True,
) -> dict[str, Any]:
    """Summarize `text` or each of `texts` (a sample article when given neither)."""
    docs = texts if texts else [text or SAMPLE]
    summaries = [summarize(doc, max_length, extractive) for doc in docs]
    scores = [round(grounding(s, doc), 2) for s, doc in zip(summaries, docs, strict=True)]
    flag = "\n\n(not grounded: {:.0%} of its content words are in the text)"
    report = "\n\n".join(
        f"## Text {i + 1}\n{s}" + ("" if g >= GROUNDED else flag.format(g))
        for i, (s, g) in enumerate(zip(summaries, scores, strict=True))
    )
    ctx.write_file("summaries.md", "# Summaries\n\n" + report + "\n")
    return {
        "summaries": summaries,
        "grounding": scores,
        "grounded": [g >= GROUNDED for g in scores],
        "extractive": extractive,
        # which sentence the model chose (None: not one of the text's)
        "picked": [_index(sentences(doc), s) for doc, s in zip(docs, summaries, strict=True)],
        "chars_in": sum(map(len, docs)),
    }


def _index(options: list[str], summary: str) -> int | None:
    return options.index(summary.strip()) if summary.strip() in options else None
