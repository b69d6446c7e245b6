"""Learning while acting through the kernel: every environment step is a system call.

The loops of `train` with an `EnvClient` in place of a local environment: the agent's
process owns the environment, each step is a journaled `env_step` tool call, and each
episode's per-step rewards are kept as an `Episode` (stored with `record_episode` when a
`feedback` prefix is given). Randomness comes from a seed in the arguments, so a replay
after a crash makes the same calls in the same order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import numpy as np

from llmagentos.envs.client import EnvClient
from llmagentos.errors import InvalidArgument
from llmagentos.learning.rl.feedback import Episode, record_episode
from llmagentos.learning.rl.policy import Learner
from llmagentos.learning.rl.train import Convergence, EpisodeStats, TrainingReport

Progress = Callable[[int, EpisodeStats], Awaitable[None] | None]


async def act_episode(
    env: EnvClient,
    agent: Learner,
    rng: np.random.Generator,
    *,
    learn: bool = True,
    greedy: bool = False,
    seed: int | None = None,
) -> tuple[EpisodeStats, Episode]:
    """Play one episode in `env`; with `learn`, the agent learns from every step."""
    state = int((await env.reset(seed)).observation)
    episode = Episode()
    while True:
        action = agent.greedy(state) if greedy else agent.act(state, rng)
        step = await env.step(action)
        nxt = int(step.observation)
        episode.record(state, action, step.reward, nxt, step.terminated)
        if learn:
            agent.update(state, action, step.reward, nxt, step.terminated)
        state = nxt
        if step.done:
            if learn:
                agent.end_episode()
            stats = EpisodeStats(len(episode.transitions), episode.total_reward, step.terminated)
            return stats, episode


async def train_in(
    env: EnvClient,
    agent: Learner,
    *,
    episodes: int = 300,
    seed: int = 0,
    check_every: int = 5,
    patience: int = 3,
    feedback: str | None = None,
    on_episode: Progress | None = None,
) -> TrainingReport:
    """Train by acting in `env` until `Convergence` or `episodes`; see `train`.

    With `feedback`, each training episode's per-step rewards are stored under that
    key prefix in the process's storage (`record_episode`).
    """
    if episodes < 1 or check_every < 1:
        raise InvalidArgument("episodes and check_every must be positive")
    rng = np.random.default_rng(seed)
    steps, converged = 0, Convergence(patience)
    for number in range(1, episodes + 1):
        stats, episode = await act_episode(env, agent, rng)
        steps += stats.steps
        if feedback is not None:
            await record_episode(env.ctx, feedback, episode)
        if on_episode is not None:
            shown = on_episode(number, stats)
            if shown is not None:
                await shown
        if number % check_every == 0:
            probe, _ = await act_episode(env, agent, rng, learn=False, greedy=True)
            if converged.observe(probe):
                return TrainingReport(number, steps, "converged", converged.last)
    return TrainingReport(episodes, steps, "budget", converged.last)
