"""Labelling company headlines: the sentiment monitor's ways side by side.

Three sets of headlines, none trained on:
- `corpus held-out`: 300 from the corpus's evaluation split (its event/frame pairs never
  appear in training; the events' wording does, so this is the easy set);
- `independent`: the 60 in `bench/data/headlines.jsonl`, written for this bench with
  other events and words than the corpus's (20 per label);
- `monitor sample`: the sentiment monitor's own 7.

Ways of labelling:
- `majority`: always the training data's most common label;
- `lexicon`: the word lists of the apps' offline doubles (`apps/lexicon.py`);
- `builtin:tiny`: the built-in model asked as the monitor's `method="model"` asks, its
  reply guided to one of the three labels;
- `head on hashed words`: the same head and data as the shipped classifier, on the
  dependency-free hashed-word embedder (no pretrained knowledge);
- `news-sentiment`: the shipped classifier (a head on all-MiniLM-L6-v2).

Run: `.venv/bin/python bench/news_sentiment.py --json bench/results/news_sentiment.json`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from llmagentos.apps.lexicon import sentiment_of
from llmagentos.apps.sentiment_monitor.app import NEWS, SCORES, sentiment_prompt
from llmagentos.learning import store
from llmagentos.learning.corpus import classify
from llmagentos.learning.data import read_labelled
from llmagentos.learning.embedding_classifier import (
    EmbeddingClassifier,
    news_sentiment_data,
    train_embedding_classifier,
)
from llmagentos.learning.metrics import classification_report

HERE = Path(__file__).resolve().parent
LABELS = list(SCORES)
Rows = list[tuple[str, str]]
Labeller = Callable[[list[str]], list[str]]


def data_sets(seed: int) -> dict[str, Rows]:
    return {
        "corpus held-out": classify.news_headlines(seed + 1, 300, "eval"),
        "independent": read_labelled(HERE / "data" / "headlines.jsonl"),
        "monitor sample": [(n["headline"], n["label"]) for n in NEWS],
    }


def model_labeller(spec: str) -> Labeller:
    """The model asked as the monitor asks (a choice among the labels)."""
    from llmagentos.llm.spec import create_backend
    from llmagentos.llm.types import LLMRequest, Message

    choice = {"type": "choice", "choices": LABELS}

    def run(texts: list[str]) -> list[str]:
        async def all_of() -> list[str]:
            backend: Any = create_backend(spec)
            try:
                replies = await asyncio.gather(
                    *(
                        backend.complete(
                            LLMRequest(
                                messages=(Message(role="user", content=sentiment_prompt(t)),),
                                max_tokens=8,
                                response_format=choice,
                            )
                        )
                        for t in texts
                    )
                )
            finally:
                await backend.aclose()
            return [r.text.strip() if r.text.strip() in LABELS else "neutral" for r in replies]

        return asyncio.run(all_of())

    return run


def head_labeller(clf: EmbeddingClassifier) -> Labeller:
    return lambda texts: [p.label for p in clf.classify(texts)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="builtin:tiny", help="language model spec")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    console = Console()
    train_part, _ = news_sentiment_data(args.seed)
    majority = Counter(label for _, label in train_part).most_common(1)[0][0]
    with tempfile.TemporaryDirectory() as tmp:
        hashed = train_embedding_classifier(
            train_part, Path(tmp) / "hashed", encoder="hash", labels=LABELS, seed=args.seed
        )
        ways: dict[str, Labeller] = {
            "majority": lambda texts: [majority] * len(texts),
            "lexicon": lambda texts: [sentiment_of(t) for t in texts],
            args.model: model_labeller(args.model),
            "head on hashed words": head_labeller(EmbeddingClassifier.load(hashed.path)),
            "news-sentiment": head_labeller(
                EmbeddingClassifier.load(store.resolve("news-sentiment"))
            ),
        }
        sets = data_sets(args.seed)
        results: dict[str, dict[str, Any]] = {}
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("labelling", total=len(ways) * len(sets))
            for way, label_all in ways.items():
                results[way] = {}
                for name, rows in sets.items():
                    began = time.perf_counter()
                    got = label_all([t for t, _ in rows])
                    seconds = time.perf_counter() - began
                    report = classification_report([lab for _, lab in rows], got, LABELS)
                    results[way][name] = {
                        "accuracy": report["accuracy"],
                        "macro_f1": report["macro_f1"],
                        "correct": sum(g == lab for g, (_, lab) in zip(got, rows, strict=True)),
                        "n": len(rows),
                        "ms_per_headline": round(1000 * seconds / len(rows), 2),
                        "wrong": [
                            {"text": t, "label": lab, "got": g}
                            for g, (t, lab) in zip(got, rows, strict=True)
                            if g != lab
                        ][:12],
                    }
                    progress.advance(task)
    table = Table(title="Labelling company headlines (accuracy; macro F1 in brackets)")
    table.add_column("way")
    for name, rows in sets.items():
        table.add_column(f"{name} ({len(rows)})", justify="right")
    table.add_column("ms / headline (independent)", justify="right")
    for way, per in results.items():
        cells = [
            f"{per[n]['accuracy']:.3f} ({per[n]['macro_f1']:.2f})"
            if n != "monitor sample"
            else f"{per[n]['correct']} of {per[n]['n']}"
            for n in sets
        ]
        table.add_row(way, *cells, f"{per['independent']['ms_per_headline']:.1f}")
    console.print(table)
    out = {
        "seed": args.seed,
        "training": {"examples": len(train_part), "majority": majority},
        "results": results,
        "command": " ".join(["python", *sys.argv]),
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n")
        console.print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
