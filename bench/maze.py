"""Maze benchmark: random, LLM-only, Q-learning and LLM-prior + Q-learning on held-out mazes.

Mazes are generated from seeds no test or tuning run has used: development (tests, the
apps' defaults, the tuning of learning rates and prior weights) uses seeds below 100 000;
this benchmark uses `1 000 000 + i`. Every maze is 11x11 tiles with 10% of its inner walls
removed (so there are loops, and "shortest" is a real test), start top-left, goal
bottom-right; the optimum is the BFS shortest path.

Policies (each on every maze):
- `random`: a uniformly random move each step;
- `llm_only`: the model's move preferences, sampled each step (the model is asked once
  per cell, through a kernel, exactly as the maze-solver app asks it);
- `q_learning`: tabular Q-learning from an optimistic start, trained until its greedy
  policy is stable, then run greedily;
- `llm_prior_rl`: the same Q-learning started from the model's preferences;
- with `--reinforce`: `reinforce` and `llm_prior_reinforce` (policy gradient from the
  prior flattened by temperature 4; slower, no targets: for comparison).

Stochastic policies play `--episodes` episodes per maze, learned ones one greedy episode
(the maze and the greedy policy are deterministic). `mean_steps_over_optimal` averages
steps / optimal over the episodes that reached the goal; an episode that does not reach
the goal within 4 steps per tile counts against `success_rate`. The model is
`--model SPEC` (any backend) or, by default, the offline straight-line heuristic double.

Prints a table and writes JSON (`--json PATH`): `policies[<name>]` with `success_rate`,
`mean_steps_over_optimal`, `mean_train_steps`; `targets` and `targets_met` for the learned
policies (success >= 0.99, steps <= 1.05x optimal).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from llmagentos import Kernel, KernelConfig, ProcessContext
from llmagentos.envs import generate_maze, optimal_steps
from llmagentos.envs.maze import MazeEnv
from llmagentos.learning.rl import (
    Learner,
    PriorPolicy,
    QLearning,
    Reinforce,
    evaluate,
    heuristic_maze_model,
    llm_prior,
    train,
    uniform_prior,
)

HELD_OUT_START = 1_000_000
SIZE, LOOPS = 11, 0.1
TARGET_SUCCESS, TARGET_RATIO = 0.99, 1.05
LEARNED = ("q_learning", "llm_prior_rl")


async def prior_program(ctx: ProcessContext, seed: int, size: int, loops: float) -> Any:
    """Ask the model about every cell of maze `seed` (one `ctx.chat` per cell)."""
    report = await llm_prior(ctx, generate_maze(size, seed, loops), env_id="maze")
    return {"prior": report.prior, "understood": report.understood, "asked": report.questions}


async def model_priors(
    seeds: list[int], model: str | None, progress: Progress
) -> dict[int, dict[str, Any]]:
    """The model's prior for each maze, each asked by its own kernel process."""
    task = progress.add_task("asking the model", total=len(seeds))
    backend: Any = model if model else heuristic_maze_model()
    state = tempfile.mkdtemp(prefix="llmagentos-maze-")
    out: dict[int, dict[str, Any]] = {}
    config = KernelConfig(state_dir=state, recover=False)
    async with Kernel(config, models={"model": backend}) as kernel:
        for seed in seeds:
            status = await kernel.run(prior_program, {"seed": seed, "size": SIZE, "loops": LOOPS})
            if status.state != "done":
                raise RuntimeError(f"asking the model about maze {seed} failed: {status.error}")
            out[seed] = status.result
            progress.advance(task)
    return out


def _learners(reinforce: bool) -> dict[str, Callable[[np.ndarray], Learner]]:
    made: dict[str, Callable[[np.ndarray], Learner]] = {
        "q_learning": lambda prior: QLearning(prior.shape[0], init=1.0),
        "llm_prior_rl": lambda prior: QLearning.from_prior(prior),
    }
    if reinforce:
        made["reinforce"] = lambda prior: Reinforce(prior.shape[0])
        # Flattened: a policy gradient started at the peaked prior collapses into its loops.
        made["llm_prior_reinforce"] = lambda prior: Reinforce.from_prior(prior, temperature=4.0)
    return made


def run_maze(
    seed: int, prior: np.ndarray, episodes: int, budget: int, reinforce: bool
) -> dict[str, dict[str, Any]]:
    """Every policy on maze `seed`: per policy, the steps/optimal ratios and training use."""
    layout = generate_maze(SIZE, seed, LOOPS)
    env = MazeEnv(layout=layout, observation="index")
    best = optimal_steps(layout)
    fixed = {"random": PriorPolicy(uniform_prior(prior.shape[0])), "llm_only": PriorPolicy(prior)}
    results: dict[str, dict[str, Any]] = {}
    for name, policy in fixed.items():
        played = evaluate(env, policy, episodes=episodes, greedy=False, seed=seed)
        results[name] = {"episodes": [(e.success, e.steps / best) for e in played], "train": 0}
    for name, make in _learners(reinforce).items():
        learner = make(prior)
        report = train(env, learner, episodes=budget, seed=seed)
        (final,) = evaluate(env, learner)
        results[name] = {"episodes": [(final.success, final.steps / best)], "train": report.steps}
    return results


def summarise(per_maze: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    out = {}
    for name in per_maze[0]:
        episodes = [e for maze in per_maze for e in maze[name]["episodes"]]
        ratios = [ratio for ok, ratio in episodes if ok]
        out[name] = {
            "success_rate": round(sum(ok for ok, _ in episodes) / len(episodes), 4),
            "mean_steps_over_optimal": round(float(np.mean(ratios)), 4) if ratios else None,
            "mean_train_steps": round(float(np.mean([m[name]["train"] for m in per_maze])), 1),
            "episodes": len(episodes),
        }
    return out


def targets_met(policies: dict[str, dict[str, Any]]) -> dict[str, bool]:
    return {
        name: policies[name]["success_rate"] >= TARGET_SUCCESS
        and (policies[name]["mean_steps_over_optimal"] or float("inf")) <= TARGET_RATIO
        for name in LEARNED
    }


def table(policies: dict[str, dict[str, Any]], mazes: int) -> Table:
    t = Table(title=f"maze benchmark: {mazes} held-out {SIZE}x{SIZE} mazes", title_justify="left")
    for column in ("policy", "success", "steps / optimal", "training env steps", "episodes"):
        t.add_column(column, justify="left" if column == "policy" else "right")
    for name, r in policies.items():
        ratio = r["mean_steps_over_optimal"]
        t.add_row(
            name,
            f"{r['success_rate']:.1%}",
            "-" if ratio is None else f"{ratio:.3f}x",
            f"{r['mean_train_steps']:.0f}" if r["mean_train_steps"] else "-",
            str(r["episodes"]),
        )
    return t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mazes", type=int, default=100, help="held-out mazes (default 100)")
    parser.add_argument("--quick", action="store_true", help="20 mazes, fewer random episodes")
    parser.add_argument("--model", default=None, help="model spec (default: offline heuristic)")
    parser.add_argument("--episodes", type=int, default=5, help="episodes per stochastic policy")
    parser.add_argument("--budget", type=int, default=1000, help="max training episodes")
    parser.add_argument("--reinforce", action="store_true", help="add REINFORCE (slow)")
    parser.add_argument("--json", type=Path, default=None, help="write results here")
    args = parser.parse_args()
    mazes, episodes = (20, 2) if args.quick else (args.mazes, args.episodes)
    seeds = [HELD_OUT_START + i for i in range(mazes)]
    console = Console()
    started = time.perf_counter()
    with Progress(console=console, transient=True) as progress:
        priors = asyncio.run(model_priors(seeds, args.model, progress))
        task = progress.add_task("playing and learning", total=len(seeds))
        per_maze = []
        for seed in seeds:
            prior = np.asarray(priors[seed]["prior"], dtype=np.float64)
            per_maze.append(run_maze(seed, prior, episodes, args.budget, args.reinforce))
            progress.advance(task)
    policies = summarise(per_maze)
    met = targets_met(policies)
    console.print(table(policies, mazes))
    understood = sum(p["understood"] for p in priors.values())
    asked = sum(p["asked"] for p in priors.values())
    console.print(
        f"model: {args.model or 'offline heuristic double'}; {understood}/{asked} answers"
        f" understood; learned policies meet the targets (success >= {TARGET_SUCCESS},"
        f" <= {TARGET_RATIO}x optimal): {met}"
    )
    result = {
        "benchmark": "maze",
        "model": args.model or "offline:heuristic",
        "mazes": mazes,
        "size": SIZE,
        "loops": LOOPS,
        "held_out_seeds": [seeds[0], seeds[-1]],
        "policies": policies,
        "success_rate": {k: v["success_rate"] for k, v in policies.items()},
        "mean_steps_over_optimal": {k: v["mean_steps_over_optimal"] for k, v in policies.items()},
        "targets": {"success_rate": TARGET_SUCCESS, "mean_steps_over_optimal": TARGET_RATIO},
        "targets_met": met,
        "model_answers_understood": [understood, asked],
        "wall_s": round(time.perf_counter() - started, 1),
        "python": platform.python_version(),
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
