"""REINFORCE (Monte-Carlo policy gradient) with a softmax policy, written out plainly.

The policy is `pi(a|s) = softmax(phi(s) @ theta)[a]`. With no feature function, `phi(s)`
is one-hot and `theta[s]` are the state's logits (tabular). After each episode, every
step's return `G_t = r_t + gamma r_{t+1} + ...` scales the step's log-likelihood gradient
`phi(s) (onehot(a) - pi(.|s))`. A per-state baseline (a running mean of returns seen
from the state) subtracts what was expected, so only better-than-usual moves are pushed
up; it lowers the variance without biasing the gradient. `from_prior` starts the logits
at `log P`, so the initial policy *is* the prior.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from llmagentos.errors import InvalidArgument
from llmagentos.learning.rl.policy import check_prior, greedy_action, softmax

Features = Callable[[int], np.ndarray]


class Reinforce:
    """A softmax policy trained by REINFORCE with a baseline."""

    kind = "reinforce"

    def __init__(
        self,
        n_states: int,
        n_actions: int = 4,
        *,
        lr: float = 1.0,
        gamma: float = 0.95,
        features: Features | None = None,
        n_features: int | None = None,
        theta: np.ndarray | None = None,
        baseline_rate: float = 0.5,
    ) -> None:
        if features is not None and n_features is None:
            raise InvalidArgument("a feature function needs n_features")
        rows = n_features if features is not None else n_states
        if rows is None or rows < 1 or n_actions < 1:
            raise InvalidArgument("n_states / n_features and n_actions must be positive")
        self.n_states, self.n_actions = n_states, n_actions
        self.lr, self.gamma, self.baseline_rate = lr, gamma, baseline_rate
        self.features = features
        self.theta = np.zeros((rows, n_actions)) if theta is None else np.asarray(theta, float)
        if self.theta.shape != (rows, n_actions):
            raise InvalidArgument(
                f"theta has shape {self.theta.shape}, expected {(rows, n_actions)}"
            )
        self.baseline = np.zeros(n_states)
        self._episode: list[tuple[int, int, float]] = []

    @classmethod
    def from_prior(
        cls, prior: np.ndarray, *, temperature: float = 1.0, **options: Any
    ) -> Reinforce:
        """Tabular logits `log P / temperature`: the starting policy is the prior."""
        p = check_prior(prior)
        return cls(p.shape[0], p.shape[1], theta=np.log(p) / temperature, **options)

    def logits(self, state: int) -> np.ndarray:
        if self.features is None:
            row: np.ndarray = self.theta[state]
            return row
        out: np.ndarray = self.features(state) @ self.theta
        return out

    def probabilities(self, state: int) -> np.ndarray:
        return softmax(self.logits(state))

    def act(self, state: int, rng: np.random.Generator) -> int:
        # Inverse-CDF sampling: the same draw as rng.choice(p=...) at a fraction of its cost.
        cdf = np.cumsum(self.probabilities(state))
        return int(min(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"), len(cdf) - 1))

    def greedy(self, state: int) -> int:
        return greedy_action(self.logits(state))

    def update(self, state: int, action: int, reward: float, next_state: int, done: bool) -> float:
        """Record the step; learning happens at `end_episode` (Monte-Carlo returns)."""
        self._episode.append((state, action, reward))
        return 0.0

    def end_episode(self) -> None:
        """Apply the policy gradient of the episode just recorded."""
        episode, self._episode = self._episode, []
        g = 0.0
        for state, action, reward in reversed(episode):
            g = reward + self.gamma * g
            advantage = g - self.baseline[state]
            self.baseline[state] += self.baseline_rate * advantage
            grad = -self.probabilities(state)
            grad[action] += 1.0
            if self.features is None:
                self.theta[state] += self.lr * advantage * grad
            else:
                self.theta += self.lr * advantage * np.outer(self.features(state), grad)

    def state_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "lr": self.lr,
            "gamma": self.gamma,
            "n_states": self.n_states,
            "theta": self.theta.tolist(),
            "baseline": self.baseline.tolist(),
        }

    @classmethod
    def from_state_dict(cls, data: dict[str, Any], features: Features | None = None) -> Reinforce:
        theta = np.asarray(data["theta"], dtype=np.float64)
        agent = cls(
            int(data["n_states"]),
            theta.shape[1],
            lr=float(data["lr"]),
            gamma=float(data["gamma"]),
            features=features,
            n_features=theta.shape[0] if features is not None else None,
            theta=theta,
        )
        agent.baseline = np.asarray(data["baseline"], dtype=np.float64)
        return agent
