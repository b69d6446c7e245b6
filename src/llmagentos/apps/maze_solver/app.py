"""The maze solver: the model plans, reinforcement learning corrects, the kernel sees every step.

1. The agent's process creates its maze through the `env_reset` tool and reads the map.
2. *Planning*: for every cell the model is asked which way to go (`llm_prior`, one
   `ctx.chat` each); the answers become the policy's starting point.
3. *Learning*: Q-learning (or REINFORCE) from that prior, acting in the maze with one
   `env_step` system call per move; every episode's per-step rewards are stored.
4. The policy is saved in the app's namespace; the next run on the same maze reloads it
   and goes on from there instead of asking the model again.
5. A greedy run through the maze is compared with the shortest path (BFS).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from llmagentos.apps.factory import tool_factory
from llmagentos.envs.client import EnvClient
from llmagentos.envs.layout import parse_maze
from llmagentos.envs.tools import env_tools
from llmagentos.errors import InvalidArgument
from llmagentos.kernel.context import ProcessContext
from llmagentos.learning.rl import (
    Learner,
    QLearning,
    Reinforce,
    act_episode,
    llm_prior,
    load_policy,
    save_policy,
    train_in,
    uniform_prior,
)

NAMESPACE = "app/maze_solver"
ALGORITHMS = ("q_learning", "reinforce")
ENV_TOOLS = tool_factory(lambda app: env_tools())  # a fresh environment registry per run


def _learner(algorithm: str, prior: np.ndarray) -> Learner:
    if algorithm == "q_learning":
        return QLearning.from_prior(prior)
    return Reinforce.from_prior(prior)


async def main(
    ctx: ProcessContext,
    size: int = 9,
    maze_seed: int = 7,
    loops: float = 0.1,
    episodes: int = 300,
    algorithm: str = "q_learning",
    use_prior: bool = True,
    seed: int = 0,
) -> dict[str, Any]:
    """Learn to solve maze `maze_seed`; returns steps taken against the shortest path."""
    if algorithm not in ALGORITHMS:
        raise InvalidArgument(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    config = {"size": size, "maze_seed": maze_seed, "loops": loops, "observation": "index"}
    env = EnvClient(ctx, "maze", config=config)
    first = await env.reset(seed)
    layout = parse_maze(first.info["maze"] if first.info else "")
    optimal = int(first.info["optimal_steps"] if first.info else 0)
    key = f"policy/{size}/{maze_seed}/{loops}/{algorithm}/{'prior' if use_prior else 'plain'}"
    loaded = await load_policy(ctx, key, namespace=NAMESPACE)
    asked = understood = 0
    if loaded is not None:
        learner = loaded[0]
    else:
        n_states = layout.height * layout.width
        prior = uniform_prior(n_states)
        if use_prior:
            report = await llm_prior(ctx, layout, env_id="maze")
            prior, asked, understood = report.array(), report.questions, report.understood
        learner = _learner(algorithm, prior)
    training = await train_in(env, learner, episodes=episodes, seed=seed, feedback="episodes")
    runs = 1 + (int(loaded[1].get("runs", 0)) if loaded else 0)
    await save_policy(ctx, key, learner, namespace=NAMESPACE, meta={"runs": runs})
    final, _ = await act_episode(
        env, learner, np.random.default_rng(seed), learn=False, greedy=True
    )
    await env.close()
    ctx.log(f"maze {maze_seed}: {final.steps} steps, shortest {optimal}")
    return {
        "maze": layout.text(),
        "success": final.success,
        "steps": final.steps,
        "optimal_steps": optimal,
        "steps_over_optimal": round(final.steps / optimal, 3) if final.success else None,
        "trained_episodes": training.episodes,
        "train_steps": training.steps,
        "stopped": training.stopped,
        "reloaded_policy": loaded is not None,
        "runs": runs,
        "model_questions": asked,
        "model_answers_understood": understood,
    }
