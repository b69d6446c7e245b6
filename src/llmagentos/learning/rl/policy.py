"""What every policy and learner offers, and the fixed policies (random, a prior as is).

States are integers (a maze cell's index) and actions integers `0..n_actions-1`.
A *prior* is an array `P[s, a]` of move probabilities per state, each row summing to 1.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from llmagentos.errors import InvalidArgument


@runtime_checkable
class Learner(Protocol):
    """A policy that acts, learns from transitions, and saves its parameters as JSON."""

    kind: str

    def act(self, state: int, rng: np.random.Generator) -> int:
        """Choose an action while learning (may explore)."""
        ...

    def greedy(self, state: int) -> int:
        """The action the policy thinks best (no exploration)."""
        ...

    def probabilities(self, state: int) -> np.ndarray: ...

    def update(
        self, state: int, action: int, reward: float, next_state: int, done: bool
    ) -> float: ...

    def end_episode(self) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...


def greedy_action(values: np.ndarray) -> int:
    """The index of the largest value (the first one on ties, so it is deterministic)."""
    return int(np.argmax(values))


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    out: np.ndarray = e / e.sum(axis=-1, keepdims=True)
    return out


def check_prior(prior: np.ndarray) -> np.ndarray:
    """A prior as a float array of positive rows summing to 1 (or `InvalidArgument`)."""
    p = np.asarray(prior, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] < 1 or p.shape[1] < 1:
        raise InvalidArgument(f"a prior is a 2-D array [states, actions], got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p <= 0):
        raise InvalidArgument("prior probabilities must be finite and positive (smooth zeros)")
    if not np.allclose(p.sum(axis=1), 1.0, atol=1e-6):
        raise InvalidArgument("each row of a prior must sum to 1")
    return p


def uniform_prior(n_states: int, n_actions: int = 4) -> np.ndarray:
    return np.full((n_states, n_actions), 1.0 / n_actions)


class PriorPolicy:
    """Acts by a fixed prior: samples `P[s]` while acting, argmax when greedy.

    With the LLM's move preferences as the prior this is the *LLM-only* policy; with a
    uniform prior it is the random policy. It does not learn.
    """

    kind = "prior"

    def __init__(self, prior: np.ndarray) -> None:
        self.prior = check_prior(prior)

    def act(self, state: int, rng: np.random.Generator) -> int:
        return int(rng.choice(self.prior.shape[1], p=self.prior[state]))

    def greedy(self, state: int) -> int:
        return greedy_action(self.prior[state])

    def probabilities(self, state: int) -> np.ndarray:
        row: np.ndarray = self.prior[state]
        return row.copy()

    def update(self, state: int, action: int, reward: float, next_state: int, done: bool) -> float:
        return 0.0

    def end_episode(self) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "prior": self.prior.tolist()}

    @classmethod
    def from_state_dict(cls, data: dict[str, Any]) -> PriorPolicy:
        return cls(np.asarray(data["prior"], dtype=np.float64))
