"""Training and evaluation loops over a Gymnasium environment with integer observations.

These run in-process (a simulator the agent owns: the benchmark, or an agent's own
planning). An agent acting through the kernel uses `llmagentos.learning.rl.acting`,
the same loop with every step a system call.
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


class Convergence:
    """The early-stopping rule both training loops use: stop once the greedy policy has
    reached the goal in the same number of steps at `patience` checks in a row. It needs
    no knowledge of the optimum, only the agent's own greedy rollouts."""

    def __init__(self, patience: int = 3) -> None:
        if patience < 1:
            raise InvalidArgument("patience must be positive")
        self.patience = patience
        self.streak = 0
        self.last: int | None = None

    def observe(self, probe: EpisodeStats) -> bool:
        """Note a greedy rollout; True when training may stop."""
        if probe.success and probe.steps == self.last:
            self.streak += 1
        else:
            self.streak = 1 if probe.success else 0
        self.last = probe.steps if probe.success else None
        return self.streak >= self.patience


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
    """Train for up to `episodes`, checking `Convergence` every `check_every` episodes."""
    if episodes < 1 or check_every < 1:
        raise InvalidArgument("episodes and check_every must be positive")
    rng = np.random.default_rng(seed)
    steps, converged = 0, Convergence(patience)
    for episode in range(1, episodes + 1):
        stats = run_episode(env, agent, rng)
        steps += stats.steps
        if on_episode is not None:
            on_episode(episode, stats)
        if episode % check_every == 0 and converged.observe(
            run_episode(env, agent, rng, learn=False, greedy=True)
        ):
            return TrainingReport(episode, steps, "converged", converged.last)
    return TrainingReport(episodes, steps, "budget", converged.last)


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
