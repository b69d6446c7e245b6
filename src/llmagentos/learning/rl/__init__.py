"""Reinforcement learning written plainly in numpy (the `envs` extra).

- `QLearning`: tabular, epsilon-greedy, optimistic start; `QLearning.from_prior`.
- `Reinforce`: softmax policy gradient over tabular logits or state features;
  `Reinforce.from_prior`.
- `PriorPolicy`: acts by a fixed prior (the LLM-only and the random policies).
- `llm_prior`: a model's move preferences per maze state, through `ctx.chat`.
- `train` / `evaluate` / `run_episode`: loops over a Gymnasium environment in-process;
  `train_in` / `act_episode`: the same through the kernel (`EnvClient`, one syscall a step).
- `Episode`, `save_policy`, `load_policy`, `record_episode`, `relearn`: learning from
  per-step feedback kept in storage.
- `make_sb3`: Stable-Baselines3 DQN/PPO/A2C when the `sb3` extra is installed.
"""

from llmagentos.learning.rl.acting import act_episode, train_in
from llmagentos.learning.rl.feedback import (
    Episode,
    Transition,
    learner_from_state,
    load_policy,
    record_episode,
    relearn,
    save_policy,
)
from llmagentos.learning.rl.policy import Learner, PriorPolicy, check_prior, uniform_prior
from llmagentos.learning.rl.prior import (
    PriorReport,
    heuristic_maze_model,
    llm_prior,
    parse_preferences,
    state_prompt,
)
from llmagentos.learning.rl.reinforce import Reinforce
from llmagentos.learning.rl.sb3 import make_sb3
from llmagentos.learning.rl.tabular import QLearning
from llmagentos.learning.rl.train import (
    Convergence,
    EpisodeStats,
    TrainingReport,
    evaluate,
    run_episode,
    train,
)

__all__ = [
    "Convergence",
    "Episode",
    "EpisodeStats",
    "Learner",
    "PriorPolicy",
    "PriorReport",
    "QLearning",
    "Reinforce",
    "TrainingReport",
    "Transition",
    "act_episode",
    "check_prior",
    "evaluate",
    "heuristic_maze_model",
    "learner_from_state",
    "llm_prior",
    "load_policy",
    "make_sb3",
    "parse_preferences",
    "record_episode",
    "relearn",
    "run_episode",
    "save_policy",
    "state_prompt",
    "train",
    "train_in",
    "uniform_prior",
]
