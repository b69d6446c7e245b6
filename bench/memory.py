"""Memory benchmark: recall quality, recall latency, and a long conversation on a small window.

Runs each part with the real embedder (all-MiniLM-L6-v2, the `memory` extra) and the
dependency-free fallback (hashed words and character n-grams), side by side:

(a) quality: the retrieval set of `bench/memory_data.py` (facts an agent keeps about its
    user and its work, each asked about in other words) stored among generated
    distractors; recall@1 and recall@5 of `MemoryManager.recall`, with the exact index
    and with the approximate indexes forced on (see `INDEXES`).
(b) latency: `MemoryManager.recall` on a namespace of 10k and 100k memories (vectors
    random, texts synthetic: search cost does not depend on what the vectors mean), with
    the exact index, the projected index (what a namespace gets by default from
    `MemoryConfig.ann_min_rows` = 20k memories on; forced at 10k here for comparison) and
    the IVF index.
    "search" is a recall whose query embedding is already cached (index search, filter,
    SQLite fetch of the texts); "embed" is embedding one query; "end to end" both.
(c) conversation: a 200-turn chat through the kernel on a 512-token window with a model
    double that answers a question only when the fact it asks about is in its prompt.
    Twenty facts are told in the first 40 turns and asked about in the last 40, so every
    answer depends on the context manager bringing an evicted turn back. Every request
    the double receives is checked against the window.

Prints a table and writes JSON (`--json PATH`): top-level `recall_at_1`, `recall_at_5`,
`p50_ms_100k`, `p99_ms_100k` (search with the default index, projected at that size; the
others as `p50_ms_100k_exact`, `p50_ms_100k_ivf`...), `recall_at_1_projected`,
`recall_at_5_projected`, `recall_at_1_ivf`, `recall_at_5_ivf`,
`long_conversation_fact_rate`
(real embedder, default strategy), `overflowing_requests`, and `results[embedder][...]`.
`--quick` uses fewer distractors, 10k memories only and a shorter conversation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from llmagentos import Kernel, KernelConfig
from llmagentos.context import ContextConfig
from llmagentos.kernel.handlers import estimate_tokens
from llmagentos.llm.types import LLMRequest, Message
from llmagentos.memory import MemoryConfig, MemoryManager, make_embedder, real_embedder_available
from llmagentos.memory.ivf import IVFIndex
from llmagentos.memory.projected import ProjectedIndex
from llmagentos.memory.store import MemoryRow, write_memories
from llmagentos.storage.db import Database
from llmagentos.storage.managers import MANAGER_SCHEMAS
from llmagentos.storage.schema import CORE_SCHEMA
from llmagentos.testing import FunctionModel
from memory_data import FACTS, distractors

SYSTEM = "You are a personal assistant. Answer in one sentence."
WINDOW = 512


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def open_db(root: Path, name: str) -> Database:
    return Database(root / name / "os.db").open([CORE_SCHEMA, *MANAGER_SCHEMAS])


# -- (a) quality ---------------------------------------------------------------------------


# Index variants, run side by side: exact brute force; the projected index large namespaces
# get by default (PCA scan, exact re-rank of the best 1/64, at least 32); the IVF index
# (`index="ivf"`: a quarter of its lists on the 1k quality set, an eighth at 100k) and IVF
# reading an eighth of its lists. The approximate ones are forced on here: these sets are
# below the default `ann_min_rows`.
INDEXES: dict[str, dict[str, Any]] = {
    "exact": {"index": "exact"},
    "projected": {"index": "auto", "ann_min_rows": 256},
    "ivf": {"index": "ivf", "ann_min_rows": 256},
    "ivf-1/8": {"index": "ivf", "ann_min_rows": 256, "ann_nprobe": 4},
}
LATENCY_INDEXES = ("exact", "projected", "ivf")


async def quality(
    root: Path, spec: str, n_distractors: int, variant: str
) -> dict[str, float | str]:
    db = open_db(root, f"quality-{spec}-{variant}")
    m = MemoryManager(db, MemoryConfig(embedder=spec, max_batch=10_000, **INDEXES[variant]))
    texts = [fact for fact, _ in FACTS] + distractors(n_distractors)
    ids = [f"fact{i}" for i in range(len(FACTS))] + [f"d{i}" for i in range(n_distractors)]
    await m.space("bench")  # indexed: the store below embeds at once
    await m.store("bench", texts, None, ids)
    await m.settle()  # the IVF variants train after the store
    index = (await m.space("bench")).index
    ranks = []
    for i, (_, question) in enumerate(FACTS):
        hits = await m.recall("bench", question, k=5, min_score=-1.0)
        found = [h.id for h in hits]
        ranks.append(found.index(f"fact{i}") + 1 if f"fact{i}" in found else 0)
    db.close()
    n = len(ranks)
    return {
        "recall_at_1": sum(r == 1 for r in ranks) / n,
        "recall_at_5": sum(r > 0 for r in ranks) / n,
        "facts": n,
        "distractors": n_distractors,
        "index": describe(index),
    }


def describe(index: Any) -> str:
    if isinstance(index, IVFIndex) and index.trained:
        return f"ivf nlist={index.nlist} nprobe={index.nprobe} scan~{index.expected_scan()}"
    if isinstance(index, ProjectedIndex) and index.trained:
        return f"projected d={index.components} candidates={index.candidates(5)}"
    return f"exact ({type(index).__name__})"


# -- (b) latency ---------------------------------------------------------------------------


async def latency(root: Path, spec: str, size: int, queries: int) -> dict[str, Any]:
    """Search latency on one database of `size` memories, for each index variant."""
    db = open_db(root, f"latency-{spec}-{size}")
    emb = make_embedder(spec)
    rng = np.random.default_rng(size)
    for start in range(0, size, 10_000):
        n = min(10_000, size - start)
        vecs = rng.normal(size=(n, emb.dim)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        rows = [
            MemoryRow(f"m{start + i}", f"synthetic memory {start + i}", None, vecs[i])
            for i in range(n)
        ]
        db.write_sync(lambda c, rows=rows: write_memories(c, "big", rows, emb.name))
    words = distractors(2 * queries, seed=size)
    out = {}
    for variant in LATENCY_INDEXES:
        m = MemoryManager(db, MemoryConfig(embedder=emb, **INDEXES[variant]))  # one model load
        out[variant] = await latency_of(m, words[:queries], words[queries:])
    db.close()
    return out


async def latency_of(m: MemoryManager, warm: list[str], cold: list[str]) -> dict[str, Any]:
    t0 = time.perf_counter()
    await m.recall("big", "warm up the index", k=5, min_score=-1.0)  # loads (and trains)
    load_s = time.perf_counter() - t0
    for q in warm:
        await m.query_vector(q)
    search, end_to_end, embed = [], [], []
    for q in warm:
        t0 = time.perf_counter()
        await m.recall("big", q, k=5, min_score=-1.0)
        search.append((time.perf_counter() - t0) * 1000)
    for q in cold:
        t0 = time.perf_counter()
        await m.embed([q + " (embed only)"])
        embed.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        await m.recall("big", q, k=5, min_score=-1.0)
        end_to_end.append((time.perf_counter() - t0) * 1000)
    return {
        "search_p50_ms": pct(search, 0.5),
        "search_p99_ms": pct(search, 0.99),
        "embed_p50_ms": pct(embed, 0.5),
        "end_to_end_p50_ms": pct(end_to_end, 0.5),
        "end_to_end_p99_ms": pct(end_to_end, 0.99),
        "load_s": load_s,  # reading the rows from SQLite, and training for IVF
        "index": describe((await m.space("big")).index),
    }


# -- (c) a long conversation ---------------------------------------------------------------


def script(turns: int, n_facts: int) -> tuple[list[str], dict[str, str]]:
    """User turns: facts early, questions about them late, chit-chat between."""
    facts = FACTS[:n_facts]
    chat = iter(distractors(turns, seed=99))
    told = {2 * i: f"Please remember this: {fact}" for i, (fact, _) in enumerate(facts)}
    first_q = turns - 2 * n_facts
    asked = {first_q + 2 * i: q for i, (_, q) in enumerate(facts)}
    lines = [told.get(t) or asked.get(t) or f"Also, {next(chat)}" for t in range(turns)]
    return lines, {q: fact for fact, q in facts}


def reader(answers: dict[str, str]) -> Any:
    """The model double: it answers a question only from a fact present in its prompt."""

    def answer(messages: tuple[Message, ...], request: LLMRequest) -> str:
        if messages[0].content.startswith("You keep the running summary"):
            # A lossy summary, as a small model writes: the gist of each message.
            new = messages[-1].content.split("New messages:", 1)[-1].strip().splitlines()
            return " / ".join(" ".join(line.split()[:6]) for line in new)[:600]
        fact = answers.get(messages[-1].content)
        if fact is None:
            return "Noted."
        prompt = "\n".join(m.content for m in messages[:-1])
        return fact if fact in prompt else "I do not remember that."

    return answer


async def chat(ctx: Any, lines: list[str]) -> list[str]:
    messages: list[dict[str, str]] = []
    replies = []
    for line in lines:
        messages.append({"role": "user", "content": line})
        reply = await ctx.chat(messages, system=SYSTEM, max_tokens=48)
        messages.append({"role": "assistant", "content": reply.text})
        replies.append(reply.text)
    return replies


async def conversation(
    root: Path, spec: str, strategy: str, turns: int, n_facts: int
) -> dict[str, Any]:
    lines, answers = script(turns, n_facts)
    double = FunctionModel(reader(answers), context_window=WINDOW)
    config = KernelConfig(
        state_dir=root / f"chat-{spec}-{strategy}",
        memory=MemoryConfig(embedder=spec),
        context=ContextConfig(strategy=strategy),
    )
    t0 = time.perf_counter()
    async with Kernel(config, models={"m": double}) as kernel:
        status = await kernel.run(chat, {"lines": lines})
        await kernel.context.settle()
        stats = dict(kernel.context.stats)
    wall = time.perf_counter() - t0
    if status.state != "done":
        raise RuntimeError(f"the conversation failed: {status.error}")
    replies = status.result
    questions = [i for i, line in enumerate(lines) if line in answers]
    correct = sum(replies[i] == answers[lines[i]] for i in questions)
    overflow = sum(
        double.count_prompt_tokens(r) + r.max_tokens > WINDOW or estimate_tokens(r) >= WINDOW
        for r in double.requests
    )
    biggest = max(double.count_prompt_tokens(r) + r.max_tokens for r in double.requests)
    return {
        "fact_rate": correct / len(questions),
        "questions": len(questions),
        "turns": turns,
        "requests": len(double.requests),
        "summary_calls": stats["summaries"],
        "overflowing_requests": overflow,
        "largest_request_tokens": biggest,
        "evicted": stats["evicted"],
        "wall_s": wall,
    }


# -- running it all ------------------------------------------------------------------------


async def run(quick: bool) -> dict[str, Any]:
    specs = ["minilm", "hash"] if real_embedder_available() else ["hash"]
    sizes = [10_000] if quick else [10_000, 100_000]
    n_distractors = 300 if quick else 1000
    turns, n_facts = (80, 10) if quick else (200, 20)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="llmagentos-bench-") as tmp:
        root = Path(tmp)
        for spec in specs:
            res: dict[str, Any] = {"embedder": make_embedder(spec).name}
            res["quality"] = {v: await quality(root, spec, n_distractors, v) for v in INDEXES}
            res["latency"] = {
                str(n): await latency(root, spec, n, 50 if quick else 200) for n in sizes
            }
            res["conversation"] = {
                s: await conversation(root, spec, s, turns, n_facts)
                for s in ("summarize+recall", "recall")
            }
            results[spec] = res
        baseline = await conversation(root, "hash", "sliding", turns, n_facts)
    head = results[specs[0]]
    out: dict[str, Any] = {
        "benchmark": "memory",
        "quick": quick,
        "machine": f"{platform.machine()} {platform.python_version()}",
        "load_average": os.getloadavg()[0],  # the machine is shared: read figures with this
        "embedder": head["embedder"],
        "recall_at_1": head["quality"]["exact"]["recall_at_1"],
        "recall_at_5": head["quality"]["exact"]["recall_at_5"],
        "recall_at_1_projected": head["quality"]["projected"]["recall_at_1"],
        "recall_at_5_projected": head["quality"]["projected"]["recall_at_5"],
        "recall_at_1_ivf": head["quality"]["ivf"]["recall_at_1"],
        "recall_at_5_ivf": head["quality"]["ivf"]["recall_at_5"],
        "long_conversation_fact_rate": head["conversation"]["summarize+recall"]["fact_rate"],
        "overflowing_requests": sum(
            c["overflowing_requests"] for r in results.values() for c in r["conversation"].values()
        )
        + baseline["overflowing_requests"],
        "sliding_window_fact_rate": baseline["fact_rate"],
        "results": results,
    }
    for n in sizes:
        label = f"{n // 1000}k"
        # the headline is the index a namespace of that size gets by default
        default = "projected" if n >= MemoryConfig().ann_min_rows else "exact"
        for variant in LATENCY_INDEXES:
            lat = head["latency"][str(n)][variant]
            suffix = "" if variant == default else f"_{variant}"
            out[f"p50_ms_{label}{suffix}"] = lat["search_p50_ms"]
            out[f"p99_ms_{label}{suffix}"] = lat["search_p99_ms"]
    return out


def table(out: dict[str, Any]) -> Table:
    specs = list(out["results"])
    t = Table(title="memory benchmark")
    t.add_column("measure")
    for spec in specs:
        t.add_column(out["results"][spec]["embedder"], justify="right")

    def row(label: str, get: Any, fmt: str = "{:.2f}") -> None:
        t.add_row(label, *(fmt.format(get(out["results"][s])) for s in specs))

    for v in INDEXES:
        row(f"recall@1 ({v})", lambda r, v=v: r["quality"][v]["recall_at_1"])
        row(f"recall@5 ({v})", lambda r, v=v: r["quality"][v]["recall_at_5"])
    for n in out["results"][specs[0]]["latency"]:
        label = f"{int(n) // 1000}k"
        for v in LATENCY_INDEXES:

            def lat(r: Any, key: str, n: str = n, v: str = v) -> float:
                return float(r["latency"][n][v][key])

            row(f"search p50 ms @{label} ({v})", lambda r, lat=lat: lat(r, "search_p50_ms"))
            row(f"search p99 ms @{label} ({v})", lambda r, lat=lat: lat(r, "search_p99_ms"))
            row(f"end-to-end p50 ms @{label} ({v})", lambda r, lat=lat: lat(r, "end_to_end_p50_ms"))
            row(f"end-to-end p99 ms @{label} ({v})", lambda r, lat=lat: lat(r, "end_to_end_p99_ms"))
            row(f"load (+ train) s @{label} ({v})", lambda r, lat=lat: lat(r, "load_s"))
    row(
        "embed one query p50 ms",
        lambda r: next(iter(r["latency"].values()))["exact"]["embed_p50_ms"],
    )
    for s in ("summarize+recall", "recall"):
        row(f"conversation fact rate ({s})", lambda r, s=s: r["conversation"][s]["fact_rate"])
        row(
            f"overflowing requests ({s})",
            lambda r, s=s: r["conversation"][s]["overflowing_requests"],
            "{}",
        )
    row("summary calls", lambda r: r["conversation"]["summarize+recall"]["summary_calls"], "{}")
    return t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    out = asyncio.run(run(args.quick))
    console = Console()
    console.print(table(out))
    console.print(
        f"sliding window (no memory) fact rate: {out['sliding_window_fact_rate']:.2f};"
        f" overflowing requests in all runs: {out['overflowing_requests']};"
        f" load average {out['load_average']:.1f} on {os.cpu_count()} cores"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n")
        console.print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
