"""LLM throughput: many agents sharing one local model, with and without the OS.

All baselines run in one process, on the same workload and the same weights:
- B0 `sequential`: agents one after another, one `model.generate()` per call;
- B1 `threads+lock`: a thread per agent calling `generate()` behind one lock (no OS);
- B2 `aios-style`: a thread per agent; a scheduler thread polls a queue every `--poll-ms`
  (AIOS polls about once a second) and runs the queued calls one `generate()` each;
- B3 `hf-batching`: transformers' own continuous batching (`ContinuousBatchingManager`,
  with its prefix block sharing) called directly, one async agent per program, no kernel;
- B5 `llmagentos`: agents are kernel processes calling `ctx.chat` on an `hf:` backend
  (journal on), LAS policy in the kernel and the engine; `B5-fifo` is the same with FIFO.

Workloads (random weights, so outputs are gibberish of fixed length: EOS is ignored):
- W1: N ReAct-style agents x K steps, a long shared system prompt, short outputs; each step
  appends the answer and a tool observation to the agent's history;
- W2: 10 % heavy programs (long generations: by default 2 calls of 24x the light output),
  90 % light (2 calls of the light output); heavy ones start first. W2 is the scheduler's
  test, so it runs with scarce engine rows (`--w2-rows`, default one row per eight
  programs: a KV budget smaller than the crowd, as with a large model); with a row for every
  program no policy has anything to reorder.

Metrics per baseline: agent steps/s, output tokens/s, p50/p99 call latency, mean/p99
program completion, prefix hit rate (B5 from the engine; B3's cache keeps no count), Jain
fairness over programs of (output tokens / completion time). Prints tables, writes JSON:
`results[<baseline>][<metric>]` with metrics prefixed `w1_` / `w2_`, and `ratios`. Also
`w1_bandwidth_bound`: B5's W1 tokens/s as a fraction of what the measured memory bandwidth
allows (weights plus every row's KV read once per decode step), on CPU or CUDA.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import queue
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

OBSERVATION = "Observation: the tool returned {i} results for the query; continue."


@dataclass(frozen=True)
class Program:
    """One agent: a question, then `steps` model calls of `out_tokens` each."""

    name: str
    question: str
    steps: int
    out_tokens: int


@dataclass
class Run:
    """What one baseline measured on one workload."""

    latencies: list[float] = field(default_factory=list)
    completion: dict[str, float] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    texts: dict[str, list[str]] = field(default_factory=dict)
    wall: float = 0.0
    hit_rate: float | None = None
    prompt_tokens: int = 0  # B5: prompt tokens the engine saw (for the bandwidth bound)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, program: Program, latency: float, tokens: int, text: str) -> None:
        with self.lock:
            self.latencies.append(latency)
            self.tokens[program.name] = self.tokens.get(program.name, 0) + tokens
            self.texts.setdefault(program.name, []).append(text)


def w1(n: int, steps: int, out: int) -> list[Program]:
    return [
        Program(f"w1-{i}", f"Task {i}: find the weather in city {i}.", steps, out) for i in range(n)
    ]


def w2(n: int, out: int, heavy_shape: tuple[int, int] = (2, 24)) -> list[Program]:
    heavy = max(1, round(n / 10))
    calls, times = heavy_shape
    progs = [
        Program(f"heavy-{i}", f"Report {i}: plan a long study.", calls, out * times)
        for i in range(heavy)
    ]
    progs += [
        Program(f"light-{i}", f"Quick {i}: add two numbers.", 2, out) for i in range(n - heavy)
    ]
    return progs


def system_prompt(tokenizer: Any, tokens: int) -> str:
    """A long system prompt (instructions and tool schemas) of about `tokens` tokens."""
    from llmagentos.llm.local.tiny import sentences

    schema = json.dumps({"name": "search", "parameters": {"query": "string", "limit": "integer"}})
    text = "You are a ReAct agent. Tools: " + schema + "\n"
    for s in sentences(400, seed=3):
        if len(tokenizer.encode(text)) >= tokens:
            break
        text += s + ". "
    return text


def messages_for(system: str, program: Program, answers: list[str]) -> list[dict[str, str]]:
    out = [{"role": "system", "content": system}, {"role": "user", "content": program.question}]
    for i, answer in enumerate(answers):
        out += [
            {"role": "assistant", "content": answer},
            {"role": "tool", "content": OBSERVATION.format(i=i)},
        ]
    return out


# -- baselines without the OS ----------------------------------------------------------------


class HFGenerate:
    """`model.generate()` on one chat prompt: what an agent does on its own."""

    def __init__(self, model: Any, tokenizer: Any) -> None:
        import torch
        from transformers import GenerationConfig

        self.torch, self.model, self.tokenizer = torch, model, tokenizer
        self.config = lambda n: GenerationConfig(
            max_new_tokens=n,
            do_sample=False,
            eos_token_id=None,
            pad_token_id=tokenizer.pad_token_id,
        )

    def ids(self, messages: list[dict[str, str]]) -> list[int]:
        text = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=False
        )
        ids: list[int] = self.tokenizer.encode(text, add_special_tokens=False)
        return ids

    def __call__(self, messages: list[dict[str, str]], n: int) -> tuple[str, int]:
        ids = self.ids(messages)
        with self.torch.inference_mode():
            out = self.model.generate(self.torch.tensor([ids]), generation_config=self.config(n))
        new = out[0, len(ids) :].tolist()
        return self.tokenizer.decode(new, skip_special_tokens=True), len(new)


def agent_loop(
    gen: Callable[[list[dict[str, str]], int], tuple[str, int]],
    system: str,
    p: Program,
    run: Run,
    t0: float,
    tick: Callable[[], None],
) -> None:
    answers: list[str] = []
    for _ in range(p.steps):
        start = time.perf_counter()
        text, n = gen(messages_for(system, p, answers), p.out_tokens)
        run.record(p, time.perf_counter() - start, n, text)
        answers.append(text)
        tick()
    run.completion[p.name] = time.perf_counter() - t0


def b0_sequential(
    gen: HFGenerate, system: str, progs: list[Program], tick: Callable[[], None]
) -> Run:
    run, t0 = Run(), time.perf_counter()
    for p in progs:
        agent_loop(gen, system, p, run, t0, tick)
    run.wall = time.perf_counter() - t0
    return run


def b1_threads(gen: HFGenerate, system: str, progs: list[Program], tick: Callable[[], None]) -> Run:
    lock = threading.Lock()

    def locked(messages: list[dict[str, str]], n: int) -> tuple[str, int]:
        with lock:
            return gen(messages, n)

    return _threaded(locked, system, progs, tick)


def b2_aios(
    gen: HFGenerate, system: str, progs: list[Program], tick: Callable[[], None], poll_s: float
) -> Run:
    calls: queue.Queue[tuple[list[dict[str, str]], int, threading.Event, list[Any]]] = queue.Queue()
    stop = threading.Event()

    def scheduler() -> None:
        while not stop.is_set():
            time.sleep(poll_s)  # AIOS's loop: sleep, then take what is queued, one at a time
            while not calls.empty():
                messages, n, done, box = calls.get_nowait()
                box.append(gen(messages, n))
                done.set()

    def submit(messages: list[dict[str, str]], n: int) -> tuple[str, int]:
        done, box = threading.Event(), []
        calls.put((messages, n, done, box))
        done.wait()
        out: tuple[str, int] = box[0]
        return out

    thread = threading.Thread(target=scheduler, daemon=True)
    thread.start()
    try:
        return _threaded(submit, system, progs, tick)
    finally:
        stop.set()


def _threaded(
    gen: Callable[[list[dict[str, str]], int], tuple[str, int]],
    system: str,
    progs: list[Program],
    tick: Callable[[], None],
) -> Run:
    run, t0 = Run(), time.perf_counter()
    threads = [
        threading.Thread(target=agent_loop, args=(gen, system, p, run, t0, tick)) for p in progs
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.wall = time.perf_counter() - t0
    return run


async def b3_hf_batching(
    model: Any,
    gen: HFGenerate,
    system: str,
    progs: list[Program],
    tick: Callable[[], None],
    max_batch: int,
    max_batch_tokens: int,
    window: int,
) -> Run:
    """transformers' continuous batching manager, driven by one coroutine per agent."""
    from transformers import GenerationConfig
    from transformers.generation.configuration_utils import ContinuousBatchingConfig

    page = 32
    blocks = len(progs) * (window // page + 1)
    cb = ContinuousBatchingConfig(
        page_size=page,
        num_blocks=blocks,
        max_batch_tokens=max_batch_tokens,
        max_requests_per_batch=max_batch,
        use_cuda_graph=False,
        allow_block_sharing=True,
    )
    config = GenerationConfig(
        max_new_tokens=16, do_sample=False, eos_token_id=-1, pad_token_id=gen.tokenizer.pad_token_id
    )
    manager = model.init_continuous_batching(
        generation_config=config, continuous_batching_config=cb
    )
    manager.start()
    run, t0 = Run(), time.perf_counter()
    loop = asyncio.get_running_loop()
    counter = iter(range(1 << 30))

    async def call(messages: list[dict[str, str]], n: int) -> tuple[str, int]:
        rid = f"r{next(counter)}"
        done: asyncio.Future[Any] = loop.create_future()

        def on_result(result: Any) -> None:
            if result.is_finished() and not done.done():
                done.set_result(result)

        manager.register_result_handler(rid, on_result)
        manager.add_request(gen.ids(messages), request_id=rid, max_new_tokens=n)
        result = await done
        if result.error:
            raise RuntimeError(result.error)
        new = list(result.generated_tokens)
        return gen.tokenizer.decode(new, skip_special_tokens=True), len(new)

    async def agent(p: Program) -> None:
        answers: list[str] = []
        for _ in range(p.steps):
            start = time.perf_counter()
            text, n = await call(messages_for(system, p, answers), p.out_tokens)
            run.record(p, time.perf_counter() - start, n, text)
            answers.append(text)
            tick()
        run.completion[p.name] = time.perf_counter() - t0

    try:
        await asyncio.gather(*(agent(p) for p in progs))
    finally:
        manager.stop(block=True, timeout=10)
    run.wall = time.perf_counter() - t0
    return run


# -- llmagentos ------------------------------------------------------------------------------


async def b5_kernel(
    path: Path,
    args: argparse.Namespace,
    system: str,
    progs: list[Program],
    tick: Callable[[], None],
    policy: str,
) -> Run:
    from llmagentos import Kernel, KernelConfig
    from llmagentos.llm.local import LocalBackend

    backend = LocalBackend(
        str(path),
        device=args.device,
        max_batch=args.max_batch,
        max_batch_tokens=args.max_batch_tokens,
        policy=policy,
        ignore_eos=True,
        context_window=args.window,
        cascade_min=args.cascade_min,
    )
    run = Run()
    go = asyncio.Event()
    t0 = 0.0

    async def agent(ctx: Any, index: int) -> None:
        p = progs[index]
        await go.wait()
        answers: list[str] = []
        for _ in range(p.steps):
            start = time.perf_counter()
            reply = await ctx.chat(
                messages_for(system, p, answers), model="m", max_tokens=p.out_tokens
            )
            run.record(p, time.perf_counter() - start, reply.usage.completion_tokens, reply.text)
            answers.append(reply.text)
            tick()
        run.completion[p.name] = time.perf_counter() - t0

    state = tempfile.mkdtemp(prefix="llmagentos-llmbench-")
    config = KernelConfig(state_dir=state, recover=False, scheduler=policy)
    async with Kernel(config, models={"m": backend}) as kernel:
        pids = [await kernel.spawn(agent, {"index": i}) for i in range(len(progs))]
        await asyncio.sleep(0.2)  # every process waits at the start line
        before = await backend.stats()
        t0 = time.perf_counter()
        go.set()
        for pid in pids:
            status = await kernel.wait(pid)
            assert status.state == "done", status.error
        run.wall = time.perf_counter() - t0
        after = await backend.stats()
    prompt = after.prompt_tokens - before.prompt_tokens
    run.hit_rate = (after.cached_tokens - before.cached_tokens) / prompt if prompt else 0.0
    run.prompt_tokens = prompt
    return run


# -- metrics and report ----------------------------------------------------------------------


def copy_bandwidth(device: str) -> float:
    """Measured memory bandwidth (bytes/s) of one large tensor copy: a read and a write."""
    import torch

    n = (1 << 28) if device == "cuda" else (1 << 26)  # 1 GiB / 256 MiB of float32
    src = torch.ones(n, device=device)
    dst = torch.empty_like(src)
    dst.copy_(src)
    best = float("inf")
    for _ in range(5):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        dst.copy_(src)
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * src.numel() * src.element_size() / best


def bandwidth_bound(model: Any, run: Run, rows: int, out_tokens: int, bandwidth: float) -> dict:
    """Decode tokens/s the memory bandwidth allows: each step reads the weights once and the
    KV of every row's context (mean prompt of the run's calls plus half an answer), with
    no credit for the shared prefix that cascade attention reads once."""
    from llmagentos.llm.local.kvcache import KVLayout

    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    layout = KVLayout.of(model.config, next(model.parameters()).dtype, model.device)
    context = run.prompt_tokens / max(1, len(run.latencies)) + out_tokens / 2
    step = weights + rows * context * layout.bytes_per_token
    limit = rows * bandwidth / step
    measured = sum(run.tokens.values()) / run.wall
    return {
        "bandwidth_gb_s": round(bandwidth / 1e9, 2),
        "weights_mb": round(weights / 1e6, 1),
        "kv_mb_per_step": round(rows * context * layout.bytes_per_token / 1e6, 1),
        "rows": rows,
        "limit_tokens_per_s": round(limit, 1),
        "b5_tokens_per_s": round(measured, 1),
        "fraction": round(measured / limit, 4),
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def jain(xs: list[float]) -> float:
    return sum(xs) ** 2 / (len(xs) * sum(x * x for x in xs)) if xs and any(xs) else float("nan")


def _mean_of(run: Run, progs: list[Program], *, heavy: bool) -> float | None:
    done = [run.completion[p.name] for p in progs if p.name.startswith("heavy-") == heavy]
    return round(statistics.fmean(done), 3) if done else None


def summarise(run: Run, progs: list[Program]) -> dict[str, Any]:
    done = [run.completion[p.name] for p in progs]
    rates = [run.tokens[p.name] / run.completion[p.name] for p in progs]
    return {
        "agent_steps_per_s": round(len(run.latencies) / run.wall, 3),
        "output_tokens_per_s": round(sum(run.tokens.values()) / run.wall, 2),
        "p50_call_latency_s": round(pct(run.latencies, 0.5), 3),
        "p99_call_latency_s": round(pct(run.latencies, 0.99), 3),
        "mean_completion_s": round(statistics.fmean(done), 3),
        "p99_completion_s": round(pct(done, 0.99), 3),
        # W2's two kinds apart (W1 has one kind: both equal the mean there)
        "mean_completion_light_s": _mean_of(run, progs, heavy=False),
        "mean_completion_heavy_s": _mean_of(run, progs, heavy=True),
        "prefix_hit_rate": None if run.hit_rate is None else round(run.hit_rate, 3),
        "jain_fairness": round(jain(rates), 4),
        "calls": len(run.latencies),
        "output_tokens": sum(run.tokens.values()),
        "wall_s": round(run.wall, 2),
    }


def same_answers(a: Run, b: Run) -> float:
    """Share of calls whose answer text is the same in both runs (greedy: should be 1)."""
    pairs = [(x, y) for k in a.texts for x, y in zip(a.texts[k], b.texts.get(k, []), strict=False)]
    return sum(x == y for x, y in pairs) / len(pairs) if pairs else float("nan")


def table(title: str, results: dict[str, dict[str, Any]], base: str) -> Table:
    t = Table(title=title)
    cols = (
        "baseline",
        "steps/s",
        "tok/s",
        f"vs {base}",
        "p50 s",
        "p99 s",
        "mean done s",
        "p99 done s",
        "prefix hit",
        "Jain",
    )
    for c in cols:
        t.add_column(c, justify="right")
    ref = results[base]["output_tokens_per_s"]
    for name, r in results.items():
        hit = "-" if r["prefix_hit_rate"] is None else f"{r['prefix_hit_rate']:.0%}"
        t.add_row(
            name,
            f"{r['agent_steps_per_s']:.2f}",
            f"{r['output_tokens_per_s']:.1f}",
            f"{r['output_tokens_per_s'] / ref:.1f}x",
            f"{r['p50_call_latency_s']:.2f}",
            f"{r['p99_call_latency_s']:.2f}",
            f"{r['mean_completion_s']:.1f}",
            f"{r['p99_completion_s']:.1f}",
            hit,
            f"{r['jain_fairness']:.3f}",
        )
    return t


# -- main ------------------------------------------------------------------------------------

BASELINES = ("B0", "B1", "B2", "B3", "B5-fifo", "B5")


def run_workload(
    name: str,
    progs: list[Program],
    args: argparse.Namespace,
    env: dict[str, Any],
    progress: Progress,
    rows: int,
) -> dict[str, Run]:
    runs: dict[str, Run] = {}
    args = argparse.Namespace(**{**vars(args), "max_batch": rows})
    calls = sum(p.steps for p in progs)
    system, gen, path = env["system"], env["gen"], env["path"]
    for base in args.baselines:
        task = progress.add_task(f"{name} {base}", total=calls)

        def tick(task: Any = task) -> None:
            progress.advance(task)

        if base == "B0":
            runs[base] = b0_sequential(gen, system, progs, tick)
        elif base == "B1":
            runs[base] = b1_threads(gen, system, progs, tick)
        elif base == "B2":
            runs[base] = b2_aios(gen, system, progs, tick, args.poll_ms / 1000)
        elif base == "B3":
            runs[base] = asyncio.run(
                b3_hf_batching(
                    env["model"],
                    gen,
                    system,
                    progs,
                    tick,
                    args.max_batch,
                    args.max_batch_tokens,
                    args.window,
                )
            )
        else:
            policy = "fifo" if base == "B5-fifo" else "las"
            runs[base] = asyncio.run(b5_kernel(path, args, system, progs, tick, policy))
        progress.update(task, description=f"{name} {base} done in {runs[base].wall:.1f}s")
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--model",
        choices=("tiny", "small", "1b"),
        default=None,
        help="default: small on cpu, 1b on cuda",
    )
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--agents", type=int, default=32, help="N programs per workload")
    parser.add_argument("--steps", type=int, default=4, help="K model calls per W1 agent")
    parser.add_argument("--out-tokens", type=int, default=16, help="output tokens per light call")
    parser.add_argument("--system-tokens", type=int, default=512, help="shared system prompt size")
    parser.add_argument(
        "--max-batch", type=int, default=None, help="W1 engine rows (default: agents)"
    )
    parser.add_argument(
        "--w2-rows", type=int, default=None, help="W2 engine rows (default: agents // 8)"
    )
    parser.add_argument(
        "--w2-heavy",
        default="2x24",
        help="W2 heavy program shape: CALLSxTIMES (calls of TIMES x the light output)",
    )
    parser.add_argument("--max-batch-tokens", type=int, default=512)
    parser.add_argument("--window", type=int, default=2048)
    parser.add_argument(
        "--poll-ms", type=float, default=1000.0, help="B2 poll interval (AIOS: ~1 s)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads; 0 = torch's default")
    parser.add_argument("--cascade-min", type=int, default=64, help="B5: shared-prefix attention")
    parser.add_argument("--baselines", default=",".join(BASELINES))
    parser.add_argument("--workloads", default="W1,W2")
    parser.add_argument(
        "--quick", action="store_true", help="8 agents x 2 steps, 256-token system prompt"
    )
    parser.add_argument("--json", type=Path, help="write results here")
    args = parser.parse_args()
    if args.quick:
        args.agents, args.steps, args.system_tokens = 8, 2, 256
    args.model = args.model or ("1b" if args.device == "cuda" else "small")
    args.max_batch = args.max_batch or args.agents
    args.w2_rows = args.w2_rows or max(1, args.agents // 8)
    calls, _, times = args.w2_heavy.partition("x")
    heavy_shape = (int(calls), int(times))
    args.baselines = [b.strip() for b in args.baselines.split(",") if b.strip()]
    workloads = [w.strip().upper() for w in args.workloads.split(",")]

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging

    from llmagentos.llm.local.tiny import make_model

    logging.disable_progress_bar()
    logging.set_verbosity_error()
    if args.threads:
        torch.set_num_threads(args.threads)
    console = Console(width=150)
    path = make_model(
        Path(tempfile.mkdtemp(prefix="llmbench-model-")) / args.model,
        args.model,
        max_positions=args.window,
    )
    tokenizer = AutoTokenizer.from_pretrained(path)
    dtype = torch.float32 if args.device == "cpu" else torch.bfloat16
    model = (
        AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation="sdpa")
        .to(args.device)
        .eval()
    )
    system = system_prompt(tokenizer, args.system_tokens)
    env = {"system": system, "gen": HFGenerate(model, tokenizer), "path": path, "model": model}
    params = sum(p.numel() for p in model.parameters())
    console.print(
        f"model {args.model} ({params / 1e6:.0f}M params, random weights) on {args.device}, "
        f"torch threads {torch.get_num_threads()}, system prompt {len(tokenizer.encode(system))} "
        f"tokens, N={args.agents}, K={args.steps}, engine rows W1 {args.max_batch}"
        f" / W2 {args.w2_rows}, W2 heavy {args.w2_heavy}"
    )
    make = {"W1": w1, "W2": lambda n, _k, o: w2(n, o, heavy_shape)}
    rows = {"W1": args.max_batch, "W2": args.w2_rows}
    results: dict[str, dict[str, Any]] = {}
    all_runs: dict[str, dict[str, Run]] = {}
    with Progress(console=console) as progress:
        for w in workloads:
            progs = make[w](args.agents, args.steps, args.out_tokens)
            all_runs[w] = run_workload(w, progs, args, env, progress, rows[w])
            for base, run in all_runs[w].items():
                metrics = summarise(run, progs)
                if "B0" in all_runs[w]:
                    metrics["same_answers_as_B0"] = round(same_answers(all_runs[w]["B0"], run), 3)
                results.setdefault(base, {}).update(
                    {f"{w.lower()}_{k}": v for k, v in metrics.items()}
                )
    ratios = {}
    for w in workloads:
        per = {
            b: {k[3:]: v for k, v in r.items() if k.startswith(w.lower() + "_")}
            for b, r in results.items()
        }
        per = {b: r for b, r in per.items() if r}
        base = "B0" if "B0" in per else next(iter(per))
        console.print(
            table(f"{w}: {args.agents} programs, model {args.model} on {args.device}", per, base)
        )
        tok = {b: r["output_tokens_per_s"] for b, r in per.items()}
        if "B5" in tok and "B0" in tok:
            ratios[f"{w.lower()}_b5_vs_b0_tokens_per_s"] = round(tok["B5"] / tok["B0"], 2)
        if "B5" in tok and "B3" in tok:
            ratios[f"{w.lower()}_b5_vs_b3_tokens_per_s"] = round(tok["B5"] / tok["B3"], 2)
        if "B5" in per and "B5-fifo" in per:
            ratios[f"{w.lower()}_b5_vs_fifo_mean_completion"] = round(
                per["B5"]["mean_completion_s"] / per["B5-fifo"]["mean_completion_s"], 3
            )
    console.print(ratios)
    bound = {}
    if "W1" in all_runs and "B5" in all_runs["W1"]:
        bw = copy_bandwidth(args.device)
        rows = min(args.max_batch, args.agents)
        bound = bandwidth_bound(env["model"], all_runs["W1"]["B5"], rows, args.out_tokens, bw)
        console.print({"w1_b5_vs_memory_bandwidth_bound": bound})
    out = {
        "benchmark": "llm_throughput",
        "model": args.model,
        "params": params,
        "device": args.device,
        "agents": args.agents,
        "steps": args.steps,
        "out_tokens": args.out_tokens,
        "system_tokens": len(tokenizer.encode(system)),
        "engine_rows": args.max_batch,
        "w2_engine_rows": args.w2_rows,
        "w2_heavy": args.w2_heavy,
        "torch_threads": torch.get_num_threads(),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load": os.getloadavg(),
        },
        "results": results,
        "ratios": ratios,
        "w1_bandwidth_bound": bound,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2))
        console.print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
