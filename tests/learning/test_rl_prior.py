"""The LLM prior: reading model answers, asking through the kernel, storing feedback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("gymnasium")

from llmagentos import Kernel, KernelConfig, ProcessContext
from llmagentos.envs import parse_maze
from llmagentos.envs.errors import MissingExtra
from llmagentos.learning.rl import (
    Episode,
    QLearning,
    heuristic_maze_model,
    llm_prior,
    load_policy,
    make_sb3,
    parse_preferences,
    record_episode,
    relearn,
    save_policy,
    state_prompt,
)
from llmagentos.learning.rl.feedback import returns_of
from llmagentos.learning.rl.prior import heuristic_move
from llmagentos.testing import ScriptedModel

MAZE = parse_maze("S..\n##.\nG..")


@pytest.mark.parametrize(
    ("answer", "best"),
    [
        ('{"up": 0.1, "down": 0.6, "left": 0.1, "right": 0.2}', "down"),
        ('Sure! {"North": 1, "east": 3}', "right"),
        ("left", "left"),
        ("I would go west, or maybe up.", "left"),
        ('{"tool": "env_step", "arguments": {"env_id": "m", "action": "down"}}', "down"),
    ],
)
def test_answers_of_many_shapes_become_distributions(answer: str, best: str) -> None:
    p, understood = parse_preferences(answer)
    assert understood and p.sum() == pytest.approx(1.0) and p.min() > 0
    assert ["up", "down", "left", "right"][int(np.argmax(p))] == best


def test_an_unreadable_answer_counts_as_uniform() -> None:
    p, understood = parse_preferences("I am not sure.")
    assert not understood and p == pytest.approx([0.25] * 4)


def test_the_question_names_the_cell_goal_and_open_moves() -> None:
    prompt = state_prompt(MAZE, (0, 2), env_id="m")
    assert "you are at row 0, column 2 of a 3 by 3 maze" in prompt
    assert "goal is at row 2, column 0" in prompt and "Open moves: down, left." in prompt
    assert heuristic_move(prompt) == "down"
    assert heuristic_move("no maze here") is None


async def asker(ctx: ProcessContext) -> dict[str, Any]:
    report = await llm_prior(ctx, MAZE, env_id="m")
    return {"prior": report.prior, "questions": report.questions, "understood": report.understood}


async def test_the_prior_is_asked_state_by_state_through_the_kernel(tmp_path: Path) -> None:
    model = heuristic_maze_model()
    async with Kernel(KernelConfig(state_dir=tmp_path / "s"), models={"h": model}) as k:
        status = await k.run(asker)
    out = status.result
    free = len(MAZE.free_cells()) - 1  # every floor cell but the goal
    assert out["questions"] == out["understood"] == free == model.calls
    prior = np.asarray(out["prior"])
    assert prior.shape == (9, 4) and np.allclose(prior.sum(axis=1), 1)
    assert int(np.argmax(prior[2])) == 1  # at (0, 2) the rule says down
    assert prior[3] == pytest.approx([0.25] * 4)  # a wall stays uniform


async def test_a_model_that_rambles_still_yields_a_prior(tmp_path: Path) -> None:
    model = ScriptedModel(["Hmm, mazes are fun."], cycle=True)
    async with Kernel(KernelConfig(state_dir=tmp_path / "s"), models={"s": model}) as k:
        status = await k.run(asker)
    assert status.result["understood"] == 0
    assert np.allclose(np.asarray(status.result["prior"]), 0.25)


async def learner_run(ctx: ProcessContext) -> dict[str, Any]:
    loaded = await load_policy(ctx, "policy")
    runs = 1 if loaded is None else int(loaded[1]["runs"]) + 1
    agent = QLearning(9, init=0.0, alpha=1.0) if loaded is None else loaded[0]
    episode = Episode()
    episode.record(0, 3, -0.01, 1, False)
    episode.record(1, 3, 1.0, 2, True)
    episode.teach(agent)
    number = await record_episode(ctx, "feedback", episode)
    await save_policy(ctx, "policy", agent, meta={"runs": runs})
    fresh = QLearning(9, init=0.0, alpha=1.0)
    replayed = await relearn(ctx, "feedback", fresh)
    return {"runs": runs, "episode": number, "replayed": replayed, "q": fresh.q[1, 3]}


async def test_feedback_is_stored_per_step_and_the_policy_reloads_next_run(tmp_path: Path) -> None:
    state = tmp_path / "s"
    for expected in (1, 2):  # a second kernel on the same state: the policy comes back
        async with Kernel(KernelConfig(state_dir=state), models={"h": heuristic_maze_model()}) as k:
            status = await k.run(learner_run, name="learner")
        assert status.state == "done", status.error
        out = status.result
        assert out["runs"] == expected and out["episode"] == expected - 1
        assert out["replayed"] == expected and out["q"] == pytest.approx(1.0)


def test_episodes_round_trip_and_returns_discount() -> None:
    episode = Episode()
    episode.record(0, 1, 0.5, 1, False)
    episode.record(1, 2, 1.0, 2, True)
    assert Episode.from_rows(json.loads(json.dumps(episode.rows()))).rows() == episode.rows()
    assert episode.total_reward == 1.5
    assert returns_of([0.5, 1.0], 0.5) == pytest.approx([1.0, 1.0])


def test_stable_baselines_is_an_optional_extra() -> None:
    try:
        import stable_baselines3  # noqa: F401
    except ImportError:
        with pytest.raises(MissingExtra, match=r"llmagentos\[sb3\]"):
            make_sb3("PPO", None)
    with pytest.raises(Exception, match="algorithm must be one of"):
        make_sb3("SARSA", None)
