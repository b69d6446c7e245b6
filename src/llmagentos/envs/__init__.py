"""Environments agents act in: a Gymnasium grid maze, and env operations as kernel tools.

Layouts, validation and shortest paths (`generate_maze`, `parse_maze`, `shortest_path`)
are pure Python. `MazeEnv` needs the `envs` extra (`pip install 'llmagentos[envs]'`:
gymnasium and numpy); importing this package registers it as `llmagentos/Maze-v0` when
gymnasium is installed, so `gym.make("llmagentos.envs:llmagentos/Maze-v0")` works from a
fresh interpreter. `llmagentos.envs.tools` offers environments to agent processes as
tools (`env_reset`, `env_step`, `env_render`, `env_close`), so every step is a journaled,
access-checked system call.
"""

from __future__ import annotations

from typing import Any

from llmagentos.envs.errors import InvalidMaze, MissingExtra, UnknownEnvironment, UnsolvableMaze
from llmagentos.envs.layout import (
    MOVES,
    MazeLayout,
    action_index,
    distances_from,
    from_grid,
    generate_maze,
    optimal_steps,
    parse_maze,
    shortest_path,
)

MAZE_ID = "llmagentos/Maze-v0"

__all__ = [
    "MAZE_ID",
    "MOVES",
    "InvalidMaze",
    "MazeEnv",
    "MazeLayout",
    "MissingExtra",
    "UnknownEnvironment",
    "UnsolvableMaze",
    "action_index",
    "distances_from",
    "from_grid",
    "generate_maze",
    "optimal_steps",
    "parse_maze",
    "register",
    "shortest_path",
]


def register() -> bool:
    """Register `llmagentos/Maze-v0` with gymnasium (idempotent); False without gymnasium."""
    try:
        import gymnasium
    except ImportError:
        return False
    if MAZE_ID not in gymnasium.registry:
        gymnasium.register(id=MAZE_ID, entry_point="llmagentos.envs.maze:MazeEnv")
    return True


def __getattr__(name: str) -> Any:
    # MazeEnv imports gymnasium and numpy: load it on first use, with a clear error.
    if name == "MazeEnv":
        from llmagentos.envs.errors import require

        require("gymnasium", "envs")
        from llmagentos.envs.maze import MazeEnv

        return MazeEnv
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


register()
