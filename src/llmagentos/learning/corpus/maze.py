"""Maze moves from a described state: the seeds' maze agent, as the model's task.

The state names the agent's cell, the goal's cell and the open moves; a good move is an open
one that brings the agent closer to the goal (rows grow downwards, columns to the right).
"""

from __future__ import annotations

import random

from llmagentos.learning.corpus.example import Example, Target, answer_text, call_text
from llmagentos.learning.corpus.pools import Split, _pool
from llmagentos.learning.corpus.tools import offer, system_prompt

MOVES = ("up", "down", "left", "right")
_STEP = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
_ENV_IDS = ("maze", "m1", "m2", "maze-1", "maze-7", "lab", "grid", "env0")
_FRAMES = _pool(
    "{state} Which way should you move?|{state} Take the next step toward the goal."
    "|{state} What is your next move?|{state} Move toward the goal."
    "|{state} Which move should you take?",
    1,
    "{state} Pick a direction.|{state} Where do you go next?|{state} Choose one of the open moves."
    "|{state} Your move?|{state} Step toward the goal: which direction?",
)


def describe(
    row: int, col: int, goal: tuple[int, int], size: int, open_moves: list[str], env_id: str
) -> str:
    """A maze state in words (what an app tells the model from the env's `info`)."""
    return (
        f"In environment {env_id} you are at row {row}, column {col} of a {size} by {size} "
        f"maze. The goal is at row {goal[0]}, column {goal[1]}. "
        f"Open moves: {', '.join(open_moves)}."
    )


def good_moves(row: int, col: int, goal: tuple[int, int], open_moves: list[str]) -> list[str]:
    """Open moves that reduce the distance to the goal."""

    def closer(move: str) -> bool:
        dr, dc = _STEP[move]
        before = abs(goal[0] - row) + abs(goal[1] - col)
        return abs(goal[0] - row - dr) + abs(goal[1] - col - dc) < before

    return [m for m in open_moves if closer(m)]


def best_move(row: int, col: int, goal: tuple[int, int], open_moves: list[str]) -> str:
    """The move the corpus teaches: the first good one in the order down, right, up, left."""
    good = good_moves(row, col, goal, open_moves)
    order = ("down", "right", "up", "left")
    return next(m for m in order if m in (good or open_moves))


def maze_task(rng: random.Random, split: Split, max_size: int = 9) -> Example:
    size = rng.randint(3, max_size)
    while True:
        row, col = rng.randrange(size), rng.randrange(size)
        goal = (rng.randrange(size), rng.randrange(size))
        inside = [
            m for m in MOVES if 0 <= row + _STEP[m][0] < size and 0 <= col + _STEP[m][1] < size
        ]
        open_moves = [m for m in inside if rng.random() < 0.65]
        if (row, col) != goal and good_moves(row, col, goal, open_moves):
            break
    good = good_moves(row, col, goal, open_moves)
    move = best_move(row, col, goal, open_moves)
    env_id = rng.choice(_ENV_IDS)
    state = describe(row, col, goal, size, open_moves, env_id)
    user = _FRAMES.pick(rng, split).format(state=state)
    react = rng.random() < 0.7
    messages: list[dict[str, str]] = []
    tools: list[str] = []
    if react:
        tools = offer(rng, "env_step")
        messages.append({"role": "system", "content": system_prompt(tools)})
    arguments = {"env_id": env_id, "action": move}
    reply = call_text("env_step", arguments) if react else answer_text(move, False)
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]
    target = Target(
        "move",
        react,
        tool="env_step" if react else None,
        arguments=arguments if react else None,
        good_moves=tuple(good),
    )
    return Example("maze", tuple(messages), (target,), tuple(tools))


def maze_task_large(rng: random.Random, split: Split) -> Example:
    """The maze task on boards of up to 13 tiles (the bench's and the apps' mazes are 11 x 11;
    the first mixtures stop at 9, so rows and columns 9-12 were never seen)."""
    return maze_task(rng, split, max_size=13)
