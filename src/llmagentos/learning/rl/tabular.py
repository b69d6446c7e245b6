"""Tabular Q-learning, written out plainly in numpy.

`Q[s, a]` estimates the return of taking action `a` in state `s` and acting greedily
after. Each transition moves it toward `r + gamma * max_a' Q[s', a']` (zero after the
last step). Exploration is epsilon-greedy with random tie-breaking; starting the table
*optimistically* (at or above the best possible return) makes the agent try every
action until experience proves it worse, which on deterministic mazes finds shortest
paths reliably. `from_prior` starts the table from a policy prior (the LLM's move
preferences): preferred moves start higher, so they are tried first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from llmagentos.errors import InvalidArgument
from llmagentos.learning.rl.policy import check_prior, greedy_action


class QLearning:
    """An epsilon-greedy tabular Q-learner over `n_states` integer states."""

    kind = "q_learning"

    def __init__(
        self,
        n_states: int,
        n_actions: int = 4,
        *,
        alpha: float = 0.5,
        gamma: float = 0.99,
        epsilon: float = 0.05,
        init: float = 0.0,
        q: np.ndarray | None = None,
    ) -> None:
        if n_states < 1 or n_actions < 1:
            raise InvalidArgument("n_states and n_actions must be positive")
        if not 0 < alpha <= 1 or not 0 <= gamma <= 1 or not 0 <= epsilon <= 1:
            raise InvalidArgument("need 0 < alpha <= 1, 0 <= gamma <= 1, 0 <= epsilon <= 1")
        self.alpha, self.gamma, self.epsilon = alpha, gamma, epsilon
        self.q = np.full((n_states, n_actions), init, dtype=np.float64) if q is None else q
        if self.q.shape != (n_states, n_actions):
            raise InvalidArgument(f"q has shape {self.q.shape}, expected {(n_states, n_actions)}")

    @classmethod
    def from_prior(
        cls, prior: np.ndarray, *, init: float = 1.0, weight: float = 0.1, **options: Any
    ) -> QLearning:
        """Start from a prior `P[s, a]`: `Q = init + weight * log P` (likely moves first)."""
        prior = check_prior(prior)
        q = init + weight * np.log(prior)
        return cls(prior.shape[0], prior.shape[1], q=q, **options)

    @property
    def n_states(self) -> int:
        return int(self.q.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.q.shape[1])

    def act(self, state: int, rng: np.random.Generator) -> int:
        """Epsilon-greedy: a random action with probability epsilon, else a best one."""
        if rng.random() < self.epsilon:
            return int(rng.integers(self.n_actions))
        row = self.q[state]
        best = np.flatnonzero(row == row.max())
        return int(best[0] if len(best) == 1 else rng.choice(best))

    def greedy(self, state: int) -> int:
        return greedy_action(self.q[state])

    def probabilities(self, state: int) -> np.ndarray:
        """The epsilon-greedy policy's distribution over actions in `state`."""
        row = self.q[state]
        best = row == row.max()
        p = np.full(self.n_actions, self.epsilon / self.n_actions)
        p[best] += (1 - self.epsilon) / best.sum()
        return p

    def update(self, state: int, action: int, reward: float, next_state: int, done: bool) -> float:
        """One Q-learning backup; returns the TD error."""
        target = reward if done else reward + self.gamma * float(self.q[next_state].max())
        error = target - float(self.q[state, action])
        self.q[state, action] += self.alpha * error
        return error

    def end_episode(self) -> None:
        """Q-learning learns per step; nothing is left to do at an episode's end."""

    def state_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (for `ctx.kv_put`)."""
        return {
            "kind": self.kind,
            "alpha": self.alpha,
            "gamma": self.gamma,
            "epsilon": self.epsilon,
            "q": self.q.tolist(),
        }

    @classmethod
    def from_state_dict(cls, data: dict[str, Any]) -> QLearning:
        q = np.asarray(data["q"], dtype=np.float64)
        if q.ndim != 2:
            raise InvalidArgument("a saved Q-table must be a 2-D list")
        return cls(
            q.shape[0],
            q.shape[1],
            alpha=float(data["alpha"]),
            gamma=float(data["gamma"]),
            epsilon=float(data["epsilon"]),
            q=q,
        )
