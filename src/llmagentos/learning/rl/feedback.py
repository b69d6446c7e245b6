"""Learning from an agent's feedback: per-step rewards kept in storage, policies saved and reloaded.

An agent acting through the kernel records every step it takes (state, action, the
reward it got, where it landed) in an `Episode`. At the end it stores the episode with
`record_episode` and its policy with `save_policy`, both `kv_put` system calls in the
process's (or a shared) namespace. A later run calls `load_policy` and goes on from
there; `relearn` replays stored episodes into a fresh learner (offline learning from
the feedback record). Rewards need not come from an environment: another agent or a
person can score a step, and the learner treats it the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from llmagentos.errors import InvalidArgument
from llmagentos.kernel.context import ProcessContext
from llmagentos.learning.rl.policy import Learner, PriorPolicy
from llmagentos.learning.rl.reinforce import Reinforce
from llmagentos.learning.rl.tabular import QLearning
from llmagentos.records import record


@record
class Transition:
    """One step of feedback: in `state` the agent took `action` and got `reward`."""

    state: int
    action: int
    reward: float
    next_state: int
    done: bool


class Episode:
    """The transitions of one episode, in order."""

    def __init__(self, transitions: list[Transition] | None = None) -> None:
        self.transitions: list[Transition] = list(transitions or [])

    def record(self, state: int, action: int, reward: float, next_state: int, done: bool) -> None:
        self.transitions.append(Transition(state, action, float(reward), next_state, done))

    @property
    def total_reward(self) -> float:
        return float(sum(t.reward for t in self.transitions))

    def teach(self, learner: Learner) -> None:
        """Feed the episode to `learner` (per-step updates, then the episode's end)."""
        for t in self.transitions:
            learner.update(t.state, t.action, t.reward, t.next_state, t.done)
        learner.end_episode()

    def rows(self) -> list[list[Any]]:
        """Compact JSON form: one `[state, action, reward, next_state, done]` per step."""
        return [[t.state, t.action, t.reward, t.next_state, t.done] for t in self.transitions]

    @classmethod
    def from_rows(cls, rows: list[list[Any]]) -> Episode:
        try:
            return cls(
                [Transition(int(s), int(a), float(r), int(n), bool(d)) for s, a, r, n, d in rows]
            )
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(f"a stored episode is malformed: {exc}") from None


_KINDS: dict[str, Any] = {
    QLearning.kind: QLearning,
    Reinforce.kind: Reinforce,
    PriorPolicy.kind: PriorPolicy,
}


def learner_from_state(data: dict[str, Any]) -> Learner:
    """Rebuild a learner from `state_dict()` output."""
    if not isinstance(data, dict) or data.get("kind") not in _KINDS:
        raise InvalidArgument(
            f"not a saved policy (kind must be one of {sorted(_KINDS)}): {str(data)[:80]}"
        )
    learner: Learner = _KINDS[data["kind"]].from_state_dict(data)
    return learner


async def save_policy(
    ctx: ProcessContext,
    key: str,
    learner: Learner,
    *,
    namespace: str | None = None,
    meta: dict[str, Any] | None = None,
) -> None:
    """Store the learner's parameters (and `meta`, e.g. which maze) under `key`."""
    await ctx.kv_put(key, {"policy": learner.state_dict(), "meta": meta or {}}, namespace)


async def load_policy(
    ctx: ProcessContext, key: str, *, namespace: str | None = None
) -> tuple[Learner, dict[str, Any]] | None:
    """The learner saved under `key` and its `meta`, or None if nothing is saved."""
    saved = await ctx.kv_get(key, None, namespace)
    if saved is None:
        return None
    return learner_from_state(saved["policy"]), dict(saved.get("meta") or {})


async def record_episode(
    ctx: ProcessContext, prefix: str, episode: Episode, *, namespace: str | None = None
) -> int:
    """Append an episode's per-step rewards to storage; returns its number."""
    count = int(await ctx.kv_get(f"{prefix}/count", 0, namespace))
    await ctx.kv_put(f"{prefix}/{count:06d}", episode.rows(), namespace)
    await ctx.kv_put(f"{prefix}/count", count + 1, namespace)
    return count


async def relearn(
    ctx: ProcessContext, prefix: str, learner: Learner, *, namespace: str | None = None
) -> int:
    """Teach `learner` every episode stored under `prefix`, oldest first; returns how many."""
    count = int(await ctx.kv_get(f"{prefix}/count", 0, namespace))
    for i in range(count):
        rows = await ctx.kv_get(f"{prefix}/{i:06d}", None, namespace)
        if rows is not None:
            Episode.from_rows(rows).teach(learner)
    return count


def returns_of(rewards: list[float], gamma: float) -> np.ndarray:
    """Discounted returns `G_t` of a reward sequence (for inspecting feedback)."""
    out = np.zeros(len(rewards))
    g = 0.0
    for i in range(len(rewards) - 1, -1, -1):
        g = rewards[i] + gamma * g
        out[i] = g
    return out
