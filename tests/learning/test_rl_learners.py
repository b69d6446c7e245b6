"""Q-learning and REINFORCE: the update rules, convergence on small mazes, saved parameters."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("gymnasium")

from llmagentos.envs import generate_maze, optimal_steps
from llmagentos.envs.maze import MazeEnv
from llmagentos.errors import InvalidArgument
from llmagentos.learning.rl import (
    PriorPolicy,
    QLearning,
    Reinforce,
    evaluate,
    learner_from_state,
    train,
    uniform_prior,
)


def maze_env(seed: int, size: int = 7, loops: float = 0.2) -> tuple[MazeEnv, int]:
    layout = generate_maze(size, seed, loops)
    return MazeEnv(layout=layout, observation="index"), optimal_steps(layout)


def test_a_q_update_moves_toward_the_bootstrapped_target() -> None:
    q = QLearning(3, 2, alpha=0.5, gamma=0.9)
    q.q[1] = [2.0, 4.0]
    assert q.update(0, 1, reward=1.0, next_state=1, done=False) == pytest.approx(1 + 0.9 * 4)
    assert q.q[0, 1] == pytest.approx(0.5 * 4.6)
    q.update(0, 0, reward=1.0, next_state=1, done=True)  # no bootstrap after the last step
    assert q.q[0, 0] == pytest.approx(0.5)


def test_epsilon_greedy_breaks_ties_at_random_and_reports_its_distribution() -> None:
    q = QLearning(1, 4, epsilon=0.0)
    q.q[0] = [1.0, 3.0, 3.0, 0.0]
    rng = np.random.default_rng(0)
    assert {q.act(0, rng) for _ in range(50)} == {1, 2}
    assert q.greedy(0) == 1
    q.epsilon = 0.2
    assert q.probabilities(0) == pytest.approx([0.05, 0.45, 0.45, 0.05])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_q_learning_finds_the_shortest_path(seed: int) -> None:
    env, best = maze_env(seed)
    agent = QLearning(env.observation_space.n, init=1.0)
    report = train(env, agent, episodes=400, seed=seed)
    assert report.stopped == "converged"
    (episode,) = evaluate(env, agent)
    assert episode.success and episode.steps == best


def test_a_prior_starts_q_learning_with_the_preferred_moves_first() -> None:
    prior = np.array([[0.7, 0.1, 0.1, 0.1]])
    q = QLearning.from_prior(prior, init=1.0, weight=0.1)
    assert q.greedy(0) == 0 and q.q[0, 0] > q.q[0, 1]
    with pytest.raises(InvalidArgument, match="sum to 1"):
        QLearning.from_prior(np.array([[0.5, 0.1, 0.1, 0.1]]))
    with pytest.raises(InvalidArgument, match="positive"):
        QLearning.from_prior(np.array([[1.0, 0.0, 0.0, 0.0]]))


def test_reinforce_pushes_up_what_beat_the_baseline() -> None:
    agent = Reinforce(1, 2, lr=1.0, gamma=1.0, baseline_rate=0.0)
    agent.update(0, 1, 1.0, 0, True)
    agent.end_episode()
    assert agent.probabilities(0)[1] > 0.5
    assert agent.theta[0].sum() == pytest.approx(0.0)  # the softmax gradient sums to zero


def test_reinforce_from_the_prior_starts_as_the_prior_and_learns_the_maze() -> None:
    env, best = maze_env(4, size=7, loops=0.0)
    prior = uniform_prior(env.observation_space.n)
    prior[:, 1] = 0.4
    prior[:, [0, 2, 3]] = 0.2
    agent = Reinforce.from_prior(prior)
    assert agent.probabilities(8) == pytest.approx(prior[8])
    train(env, agent, episodes=300, seed=0)
    (episode,) = evaluate(env, agent)
    assert episode.success and episode.steps == best


def test_reinforce_over_features_learns_a_two_state_choice() -> None:
    # Two states with one feature each: the policy must learn "action 1" from either.
    agent = Reinforce(2, 2, lr=0.5, features=lambda s: np.eye(2)[s], n_features=2)
    for _ in range(200):
        for state in (0, 1):
            agent.update(state, 1, 1.0, state, True)
            agent.end_episode()
            agent.update(state, 0, -1.0, state, True)
            agent.end_episode()
    assert agent.greedy(0) == agent.greedy(1) == 1
    with pytest.raises(InvalidArgument, match="n_features"):
        Reinforce(2, 2, features=lambda s: np.eye(2)[s])


@pytest.mark.parametrize(
    "agent",
    [QLearning(5, init=0.3), Reinforce(5), PriorPolicy(uniform_prior(5))],
    ids=lambda a: a.kind,
)
def test_saved_parameters_rebuild_the_same_policy(agent: object) -> None:
    saved = agent.state_dict()  # type: ignore[attr-defined]
    again = learner_from_state(saved)
    assert again.state_dict() == saved
    with pytest.raises(InvalidArgument, match="not a saved policy"):
        learner_from_state({"kind": "svm"})


def test_the_random_policy_rarely_solves_what_learning_solves() -> None:
    env, _ = maze_env(5, size=9)
    random = PriorPolicy(uniform_prior(env.observation_space.n))
    tries = evaluate(env, random, episodes=5, greedy=False)
    assert sum(t.steps for t in tries) / len(tries) > optimal_steps(env.layout) * 2
