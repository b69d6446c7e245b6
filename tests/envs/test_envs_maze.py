"""`MazeEnv` as a Gymnasium environment: the checker, spaces, dynamics, rendering."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")

from gymnasium.utils.env_checker import check_env  # noqa: E402

from llmagentos.envs import MAZE_ID, InvalidMaze, MazeEnv, generate_maze, parse_maze  # noqa: E402

CORRIDOR = "S..\n##.\nG.."  # 6 moves: right, right, down, down, left, left


@pytest.mark.parametrize("observation", ["array", "index", "text"])
@pytest.mark.parametrize(
    "which", [{}, {"maze_seed": 5}, {"layout": CORRIDOR}], ids=["random", "seeded", "custom"]
)
def test_passes_the_gymnasium_checker(observation: str, which: dict[str, object]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checker's warnings count as failures here
        env = gym.make(MAZE_ID, size=7, observation=observation, render_mode="rgb_array", **which)
        check_env(env.unwrapped)


def test_made_by_module_prefixed_id_from_gymnasium() -> None:
    env = gym.make("llmagentos.envs:llmagentos/Maze-v0", size=9, maze_seed=2)
    obs, info = env.reset(seed=0)
    assert obs.shape == (9, 9) and obs.dtype == np.uint8
    assert info["position"] == (1, 1) and info["optimal_steps"] > 0


def test_walking_the_corridor_pays_the_goal_and_walls_stop_the_agent() -> None:
    env = MazeEnv(layout=CORRIDOR, observation="index", step_penalty=0.1)
    state, info = env.reset()
    assert state == 0 and info["optimal_steps"] == 6 and info["open_moves"] == ["right"]
    state, reward, terminated, truncated, info = env.step(0)  # up: the edge
    assert (state, reward, terminated, info["position"]) == (0, -0.1, False, (0, 0))
    for action in ("right", 3, 1, 1, "left"):
        state, reward, terminated, truncated, info = env.step(action)
        assert not terminated
    state, reward, terminated, truncated, info = env.step(np.int64(2))
    assert terminated and not truncated and reward == 1.0 and state == 6
    assert info["steps"] == 7


def test_episodes_are_truncated_at_max_steps() -> None:
    env = MazeEnv(layout=CORRIDOR, max_steps=3)
    env.reset()
    outcomes = [env.step(0)[3] for _ in range(3)]
    assert outcomes == [False, False, True]


def test_random_mazes_follow_the_reset_seed_and_seeded_ones_stay() -> None:
    env = MazeEnv(size=9)
    first = env.reset(seed=1)[1]["maze"]
    assert env.reset(seed=1)[1]["maze"] == first
    assert env.reset(seed=2)[1]["maze"] != first
    fixed = MazeEnv(size=9, maze_seed=4)
    assert fixed.reset(seed=1)[1]["maze"] == fixed.reset(seed=2)[1]["maze"]
    assert fixed.layout == generate_maze(9, 4)


def test_renders_as_text_and_as_an_image() -> None:
    text_env = MazeEnv(layout=CORRIDOR, render_mode="ansi")
    text_env.reset()
    assert text_env.render() == "A..\n##.\nG..\n"
    image_env = MazeEnv(layout=CORRIDOR, render_mode="rgb_array", cell_pixels=4)
    image_env.reset()
    frame = image_env.render()
    assert frame.shape == (12, 12, 3) and frame.dtype == np.uint8
    assert tuple(frame[0, 0]) != tuple(frame[5, 0])  # the agent's tile differs from the wall
    assert MazeEnv(layout=CORRIDOR).render() is None


def test_text_and_array_observations_show_the_agent() -> None:
    env = MazeEnv(layout=CORRIDOR, observation="text")
    assert env.reset()[0] == "A..\n##.\nG.."
    arr = MazeEnv(layout=CORRIDOR).reset()[0]
    assert arr.tolist() == [[2, 0, 0], [1, 1, 0], [3, 0, 0]]


def test_bad_configuration_is_refused_clearly() -> None:
    with pytest.raises(InvalidMaze, match="observation must be one of"):
        MazeEnv(observation="pixels")
    with pytest.raises(InvalidMaze, match="render_mode"):
        MazeEnv(render_mode="human")
    with pytest.raises(InvalidMaze, match="unknown character"):
        MazeEnv(layout="S?G")
    env = MazeEnv(size=7)
    with pytest.raises(InvalidMaze, match="observations are 7x7"):
        env.reset(options={"layout": CORRIDOR})
    env.reset(options={"layout": parse_maze("#######\n#S...G#\n" + "#######\n" * 5)})
