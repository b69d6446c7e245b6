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
(`builtin:` spec, continuous batching), the path agents use, asked as the ReAct agent asks
(the offered tools on the request), twice: with guided tool replies (`llm.guides`; the
default for builtin models: each step takes the model's most likely token that keeps the
reply valid JSON for an offered tool's schema or an answer) and free (the model's own text,
what the model alone can do). `--via transformers` uses `generate` directly (free).
Through the core it also asks the summary and recommendation prompts again the way their
apps do, guided to the apps' shapes (`app_formats`: the model still makes the choice). Prints
tables and writes JSON (`--json PATH`): the guided figures at the top level (what agents
get), the free ones under `free_decoding`.
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
from rich.table import Table

from llmagentos.learning import corpus, store
from llmagentos.learning.evaluate import (
    HEADLINE,
    Generate,
    contains,
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


def core_generator(
    path: Path, max_new_tokens: int, *, guided: bool
) -> tuple[Generate, Callable[[], None]]:
    """Generation through the local core: the backend a `builtin:` spec builds, asked the
    way the ReAct agent asks (the offered tools on the request), raw text back."""
    from llmagentos.llm.local.params import Generation
    from llmagentos.llm.spec import create_backend
    from llmagentos.llm.types import LLMRequest, Message

    backend: Any = create_backend(f"builtin:{path}", guided_tools=guided)
    loop = asyncio.new_event_loop()

    async def one(messages: list[dict[str, Any]], tools: tuple[str, ...]) -> str:
        request = LLMRequest(
            messages=tuple(
                Message(role=m["role"], content=m["content"], name=m.get("name")) for m in messages
            ),
            tools=tuple(corpus.SPECS[name] for name in tools),
            max_tokens=max_new_tokens,
        )
        handle = await backend.start(request)
        result = None
        async for event in handle.events():
            result = event.result if event.result is not None else result
        assert isinstance(result, Generation)
        return result.text.strip()

    async def batch(prompts: list[list[dict[str, Any]]], tools: list[tuple[str, ...]]) -> list[str]:
        return list(await asyncio.gather(*(one(p, t) for p, t in zip(prompts, tools, strict=True))))

    def close() -> None:
        loop.run_until_complete(backend.aclose())
        loop.close()

    return (lambda prompts, tools: loop.run_until_complete(batch(prompts, tools))), close


def app_formats(path: Path, examples: list[corpus.Example]) -> dict[str, Any]:
    """Two tasks asked again the way their apps ask, with the reply guided to the app's
    shape (`response_format`); the model still makes the choice that is scored:

    - summaries (plain ones, not ReAct) as the summarizer asks: one of the text's sentences
      (`choice`); scored: the chosen sentence holds the lead fact;
    - recommendations as the recommender asks: k lines, each a different candidate's id
      and one of the reasons true of it (`picks`); scored: exactly the right set, and the
      share of picks that are right (chance: the right ones' share of the candidates).
    """
    from llmagentos.apps.recommender.app import reasons
    from llmagentos.llm.spec import create_backend
    from llmagentos.llm.types import LLMRequest, Message

    def formatted(ex: corpus.Example) -> dict[str, Any]:
        if ex.task == "summary":
            return {"type": "choice", "choices": list(ex.meta["sentences"])}
        m = ex.meta
        ids = [f"{c['id']}:" for c in m["candidates"]]
        texts = {f"{c['id']}:": reasons(m["user"], c, m["liked"]) for c in m["candidates"]}
        return {"type": "picks", "choices": ids, "count": m["k"], "texts": texts}

    turns = [
        (ex, prompt, target)
        for ex in examples
        if ex.task in ("summary", "recommend")
        for prompt, _, target in ex.turns()
        if not target.react
    ]
    backend: Any = create_backend(f"builtin:{path}")

    async def one(ex: corpus.Example, prompt: list[dict[str, Any]]) -> str:
        request = LLMRequest(
            messages=tuple(Message(role=m["role"], content=m["content"]) for m in prompt),
            max_tokens=200,
            response_format=formatted(ex),
        )
        return (await backend.complete(request)).text

    async def run_all() -> list[str]:
        try:
            return list(await asyncio.gather(*(one(ex, p) for ex, p, _ in turns)))
        finally:
            await backend.aclose()

    replies = asyncio.run(run_all())
    summary = [
        (ex, t, r) for (ex, _, t), r in zip(turns, replies, strict=True) if ex.task == "summary"
    ]
    recs = [
        (ex, t, r) for (ex, _, t), r in zip(turns, replies, strict=True) if ex.task == "recommend"
    ]
    right = [set((t.fact or "").split("\n")) for _, t, _ in recs]
    named = [{line.partition(":")[0] for line in r.splitlines()} for _, _, r in recs]
    good_share = [
        sum(c["tags"][0] == ex.meta["liked"][0]["tags"][0] for c in ex.meta["candidates"])
        / len(ex.meta["candidates"])
        for ex, _, _ in recs
    ]
    return {
        "summaries": {
            "turns": len(summary),
            "summary_lead_rate": _rate(
                sum(contains(r, t.fact or "") for _, t, r in summary), summary
            ),
            "one_of_the_sentences": _rate(
                sum(r in ex.meta["sentences"] for ex, _, r in summary), summary
            ),
        },
        "recommendations": {
            "turns": len(recs),
            "recommend_picks_accuracy": _rate(
                sum(n == w for n, w in zip(named, right, strict=True)), recs
            ),
            "pick_precision": _rate(
                sum(len(n & w) / len(w) for n, w in zip(named, right, strict=True)), recs
            ),
            "pick_precision_by_chance": _rate(sum(good_share), recs),
            "candidate_ids_only": _rate(
                sum(
                    n <= {c["id"] for c in ex.meta["candidates"]}
                    for n, (ex, _, _) in zip(named, recs, strict=True)
                ),
                recs,
            ),
        },
    }


def _rate(hits: float, items: list[Any]) -> float | None:
    return round(hits / len(items), 4) if items else None


def evaluate(
    generate: Generate, examples: list[corpus.Example], label: str, args: argparse.Namespace
) -> dict[str, Any]:
    """Every figure of one way of decoding: the eval, the copy probe, correction recovery."""
    with Progress(console=Console(), transient=True) as progress:
        task = progress.add_task(f"evaluating ({label})", total=None)
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
    return {
        **{k: figures[k] for k in HEADLINE if k in figures},
        **{k: v for k, v in figures.items() if k not in HEADLINE},
        "copy_rate": probe.get("answer_exact_or_contained_rate"),
        "correction_recovery": recovery,
        "copy_per_kind": {
            k: v.get("answer_exact_or_contained_rate") for k, v in probe["per_task"].items()
        },
        "eval_seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="tiny", help="model name or folder (default: tiny)")
    parser.add_argument("--per-task", type=int, default=40, help="held-out examples per task")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--via", choices=["core", "transformers"], default="core")
    parser.add_argument(
        "--decoding",
        choices=["both", "guided", "free"],
        default="both",
        help="through the core: guided tool replies (the builtin default), free, or both",
    )
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
    modes = ["free"] if args.via == "transformers" else ["guided", "free"]
    if args.via == "core" and args.decoding != "both":
        modes = [args.decoding]
    runs: dict[str, dict[str, Any]] = {}
    for mode in modes:
        if args.via == "core":
            generate, close = core_generator(path, 96, guided=mode == "guided")
        else:
            generate, close = hf_generator(str(path), threads=args.threads), lambda: None
        try:
            runs[mode] = evaluate(generate, examples, f"{path.name} via {args.via}, {mode}", args)
        finally:
            close()

    shaped = app_formats(path, examples) if args.via == "core" else None
    weights = path / "model.safetensors"
    main_mode = modes[0]
    out: dict[str, Any] = {
        **runs[main_mode],
        "decoding": main_mode,
        **{f"{mode}_decoding": figures for mode, figures in runs.items() if mode != main_mode},
        "app_formats": shaped,
        "model": str(path),
        "via": args.via,
        "parameters": manifest.get("parameters"),
        "weights_mb": round(weights.stat().st_size / 1e6, 2) if weights.exists() else None,
        "examples": len(examples),
        "targets": TARGETS,
        "machine": {"python": sys.version.split()[0], "platform": platform.platform()},
    }
    for mode, figures in runs.items():
        title = f"{path.name} on held-out prompts, {mode} decoding"
        console.print(eval_table(figures, title=title))
    side = Table(title="headline figures side by side")
    side.add_column("figure")
    for mode in runs:
        side.add_column(f"{mode} decoding", justify="right")
    side.add_column("target", justify="right")
    for metric in (*HEADLINE, "tool_argument_accuracy", "copy_rate"):
        cells = [str(figures.get(metric)) for figures in runs.values()]
        side.add_row(metric, *cells, str(TARGETS.get(metric, "")))
    console.print(side)
    for mode, figures in runs.items():
        for metric, target in TARGETS.items():
            ok = figures.get(metric, 0.0) >= target
            verdict = "ok" if ok else "MISS"
            console.print(f"{mode}: {metric} {figures.get(metric)} (target {target}) {verdict}")
        recovery = figures["correction_recovery"]
        console.print(
            f"{mode}: broken calls valid after one correction: {recovery['recovered']}"
            f" of {recovery['broken_calls']}"
        )
    if shaped is not None:
        s, r = shaped["summaries"], shaped["recommendations"]
        free = runs[main_mode]["per_task"]
        console.print(
            f"as the apps ask (guided to their shapes): summaries with the lead fact"
            f" {s['summary_lead_rate']} of {s['turns']} (unguided"
            f" {free['summary']['summary_lead_rate']}); recommendations exactly right"
            f" {r['recommend_picks_accuracy']} (unguided"
            f" {free['recommend']['recommend_picks_accuracy']}), picks right"
            f" {r['pick_precision']} (by chance {r['pick_precision_by_chance']})"
        )
    turns = runs[main_mode]["turns"]
    console.print(f"{len(examples)} examples, {turns} turns per decoding")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n")
        console.print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
