"""The built-in model on held-out prompts: tool calls, tool choice, answers, classification.

The prompts come from `llmagentos.learning.corpus.eval_set`: every task of the training
mixture, written with question frames and entities (places, products, people, companies,
topics) that the training corpus never contains. Each assistant turn is scored the way the
ReAct agent reads a reply (`llm.toolcalls`):

- `tool_call_valid_rate`: a call that parses, names an offered tool, fits its schema;
- `tool_choice_accuracy`: ...and is the expected tool;
- `answer_exact_or_contained_rate`: the final answer contains the fact (from a passage, a
  memory hit or a tool result) as whole words;
- `classifier_accuracy`: sentiment / intent labels exactly right;
- also `tool_argument_accuracy`, `maze_move_accuracy`, `summary_lead_rate`,
  `desk_reply_accuracy`, and each per task;
- apart from those, `copy_rate`: held-out copy drills ("Repeat exactly: ...") said back in
  full, the skill the answers lean on (`corpus.copy_probe_set`; not in the corpus's eval);
- and `correction_recovery`: of the calls that could not be used at all, how many come back
  valid after the ReAct agent's correction, asked once (`evaluate.correction_recovery`).

Generation is greedy. `--via core` (default) runs the model through the local LLM core
(`builtin:` spec, continuous batching), the path agents use; `--via transformers` uses
`generate` directly. Prints a table and writes JSON (`--json PATH`) with the figures above
at the top level.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from llmagentos.learning import corpus, store
from llmagentos.learning.evaluate import (
    HEADLINE,
    Generate,
    correction_recovery,
    hf_generator,
    run_eval,
)
from llmagentos.learning.tables import eval_table

TARGETS = {
    "tool_call_valid_rate": 0.95,
    "tool_choice_accuracy": 0.85,
    "answer_exact_or_contained_rate": 0.8,
}


def core_generator(path: Path, max_new_tokens: int) -> tuple[Generate, Callable[[], None]]:
    """Generation through the local core: the backend a `builtin:` spec builds."""
    from llmagentos.llm.spec import create_backend
    from llmagentos.llm.types import LLMRequest, Message

    backend = create_backend(f"builtin:{path}")
    loop = asyncio.new_event_loop()

    async def one(messages: list[dict[str, Any]]) -> str:
        request = LLMRequest(
            messages=tuple(
                Message(role=m["role"], content=m["content"], name=m.get("name")) for m in messages
            ),
            max_tokens=max_new_tokens,
        )
        return (await backend.complete(request)).text.strip()

    async def batch(prompts: list[list[dict[str, Any]]]) -> list[str]:
        return list(await asyncio.gather(*(one(p) for p in prompts)))

    def close() -> None:
        loop.run_until_complete(backend.aclose())
        loop.close()

    return (lambda prompts: loop.run_until_complete(batch(prompts))), close


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="tiny", help="model name or folder (default: tiny)")
    parser.add_argument("--per-task", type=int, default=40, help="held-out examples per task")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--via", choices=["core", "transformers"], default="core")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--json", type=Path, help="write results here")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    console = Console()
    path = store.resolve(args.model)
    manifest = store.read_manifest(path)
    examples = corpus.eval_set(args.seed, args.per_task)
    close: Callable[[], None] = lambda: None  # noqa: E731
    if args.via == "core":
        generate, close = core_generator(path, 96)
    else:
        generate = hf_generator(str(path), threads=args.threads)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"evaluating {path.name} via {args.via}", total=None)
        began = time.monotonic()
        figures, scores = run_eval(
            generate,
            examples,
            batch_size=args.batch,
            on_batch=lambda done, total: progress.update(task, completed=done, total=total),
        )
        seconds = time.monotonic() - began
        probe, _ = run_eval(generate, corpus.copy_probe_set(args.seed, args.per_task))
        recovery = correction_recovery(generate, examples, scores)
    close()

    weights = path / "model.safetensors"
    out: dict[str, Any] = {
        **{k: figures[k] for k in HEADLINE if k in figures},
        **{k: v for k, v in figures.items() if k not in HEADLINE},
        "copy_rate": probe.get("answer_exact_or_contained_rate"),
        "correction_recovery": recovery,
        "copy_per_kind": {
            k: v.get("answer_exact_or_contained_rate") for k, v in probe["per_task"].items()
        },
        "model": str(path),
        "via": args.via,
        "parameters": manifest.get("parameters"),
        "weights_mb": round(weights.stat().st_size / 1e6, 2) if weights.exists() else None,
        "examples": len(examples),
        "eval_seconds": round(seconds, 1),
        "targets": TARGETS,
        "machine": {"python": sys.version.split()[0], "platform": platform.platform()},
    }
    console.print(eval_table(figures, title=f"{path.name} on held-out prompts"))
    for metric, target in TARGETS.items():
        ok = figures.get(metric, 0.0) >= target
        console.print(f"{metric}: {figures.get(metric)} (target {target}) {'ok' if ok else 'MISS'}")
    console.print(f"copy_rate (held-out copy drills said back in full): {out['copy_rate']}")
    console.print(
        f"broken calls valid after one correction: {recovery['recovered']}"
        f" of {recovery['broken_calls']}"
    )
    console.print(f"{len(examples)} examples, {figures['turns']} turns, {seconds:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n")
        console.print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
