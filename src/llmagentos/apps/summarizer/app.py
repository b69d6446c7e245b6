"""`summarize(text)`, the seed's API, and the app's program around it.

```python
from llmagentos.apps.summarizer.app import summarize

summary = summarize("A long article ...")   # in a sync program, or on the default runtime
```

`summarize` calls the model through `LLM().generate_text`, so inside a process it is that
process's system call, and outside any process it runs on the default runtime's kernel.
"""

from __future__ import annotations

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


def summarize(text: str, max_length: int = 100) -> str:
    """A short summary of `text` (at most `max_length` tokens) by the model."""
    return model.generate_text(f"Summarize this text: {text}", max_length=max_length)


def main(
    ctx: SyncContext,
    text: str | None = None,
    texts: list[str] | None = None,
    max_length: int = 100,
) -> dict[str, Any]:
    """Summarize `text` or each of `texts` (a sample article when given neither)."""
    docs = texts if texts else [text or SAMPLE]
    summaries = [summarize(doc, max_length) for doc in docs]
    report = "\n\n".join(f"## Text {i + 1}\n{s}" for i, s in enumerate(summaries))
    ctx.write_file("summaries.md", "# Summaries\n\n" + report + "\n")
    return {"summaries": summaries, "chars_in": sum(map(len, docs))}
