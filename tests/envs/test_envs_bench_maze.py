"""`bench/maze.py`'s pieces on two development mazes (never on its held-out seeds)."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from rich.progress import Progress

pytest.importorskip("gymnasium")

BENCH = Path(__file__).resolve().parents[2] / "bench" / "maze.py"


def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_maze", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_maze"] = module
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_pieces_measure_every_policy() -> None:
    maze = bench()
    seeds = [500, 501]
    assert max(seeds) < maze.HELD_OUT_START
    with Progress(disable=True) as progress:
        priors = asyncio.run(maze.model_priors(seeds, None, progress))
    assert all(p["understood"] == p["asked"] > 0 for p in priors.values())
    per_maze = [
        maze.run_maze(s, np.asarray(priors[s]["prior"]), episodes=1, budget=400, reinforce=False)
        for s in seeds
    ]
    policies = maze.summarise(per_maze)
    assert set(policies) == {"random", "llm_only", "q_learning", "llm_prior_rl"}
    assert maze.targets_met(policies) == {"q_learning": True, "llm_prior_rl": True}
    assert policies["llm_prior_rl"]["mean_train_steps"] < policies["q_learning"]["mean_train_steps"]
