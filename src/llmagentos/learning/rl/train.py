"""Training and evaluation loops over a Gymnasium environment with integer observations.

These run in-process (a simulator the agent owns: the benchmark, or an agent's own
planning). An agent acting through the kernel runs the same `Learner` methods around
`EnvClient` steps instead; see `llmagentos.apps.maze_solver`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from llmagentos.errors import InvalidArgument
from llmagentos.learning.rl.policy import Learner
from llmagentos.records import record


@record
class EpisodeStats:
    """How one episode went."""

    steps: int
    reward: float
    success: bool


@record
class TrainingReport:
    """How training went: episodes and environment steps used, and why it stopped."""

    episodes: int
    steps: int
    stopped: str  # "converged" | "budget"
    last_greedy_steps: int | None = None


def run_episode(
    env: Any,
    agent: Learner,
    rng: np.random.Generator,
    *,
    learn: bool = True,
    greedy: bool = False,
    seed: int | None = None,
) -> EpisodeStats:
    """Play one episode; with `learn`, feed every transition to the agent."""
    state, _ = env.reset(seed=seed)
    total, steps = 0.0, 0
    while True:
        action = agent.greedy(int(state)) if greedy else agent.act(int(state), rng)
        nxt, reward, terminated, truncated, _ = env.step(action)
        steps += 1
        total += float(reward)
        if learn:
            agent.update(int(state), action, float(reward), int(nxt), bool(terminated))
        state = nxt
        if terminated or truncated:
            if learn:
                agent.end_episode()
            return EpisodeStats(steps, total, bool(terminated))


def train(
    env: Any,
    agent: Learner,
    *,
    episodes: int = 500,
    seed: int = 0,
    check_every: int = 10,
    patience: int = 3,
    on_episode: Callable[[int, EpisodeStats], None] | None = None,
) -> TrainingReport:
    """Train for up to `episodes`; stop early once the greedy policy has reached the goal
    with the same number of steps at `patience` checks in a row (one every `check_every`
    episodes). The check needs no knowledge of the optimum, only the agent's own rollouts.
    """
    if episodes < 1 or check_every < 1 or patience < 1:
        raise InvalidArgument("episodes, check_every and patience must be positive")
    rng = np.random.default_rng(seed)
    steps, streak, last = 0, 0, None
    for episode in range(1, episodes + 1):
        stats = run_episode(env, agent, rng)
        steps += stats.steps
        if on_episode is not None:
            on_episode(episode, stats)
        if episode % check_every:
            continue
        probe = run_episode(env, agent, rng, learn=False, greedy=True)
        if probe.success and probe.steps == last:
            streak += 1
        else:
            streak = 1 if probe.success else 0
        last = probe.steps if probe.success else None
        if streak >= patience:
            return TrainingReport(episode, steps, "converged", last)
    return TrainingReport(episodes, steps, "budget", last)


def evaluate(
    env: Any,
    agent: Learner,
    *,
    episodes: int = 1,
    greedy: bool = True,
    seed: int = 0,
) -> list[EpisodeStats]:
    """Play `episodes` without learning (greedy by default)."""
    rng = np.random.default_rng(seed)
    return [run_episode(env, agent, rng, learn=False, greedy=greedy) for _ in range(episodes)]
