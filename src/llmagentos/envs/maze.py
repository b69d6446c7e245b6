"""`MazeEnv`: the grid maze as a Gymnasium environment (`llmagentos/Maze-v0`).

```python
import gymnasium as gym
import llmagentos.envs  # registers the id

env = gym.make("llmagentos/Maze-v0", size=11, maze_seed=7, observation="index")
obs, info = env.reset(seed=0)
obs, reward, terminated, truncated, info = env.step(3)  # right
```

Actions are the seed's: 0 up, 1 down, 2 left, 3 right; walking into a wall leaves the
agent where it is. Each step costs `step_penalty`; reaching the goal pays `goal_reward`
and ends the episode; after `max_steps` it is truncated.

Observations (`observation=`):
- `"array"`: the grid as `uint8` codes (0 floor, 1 wall, 2 agent, 3 goal);
- `"index"`: the agent's cell as one integer, `row * width + column` (for tabular learners);
- `"text"`: the grid as text (`#` wall, `.` floor, `S` start, `G` goal, `A` agent), for LLMs.

Which maze: a fixed `layout` (a `MazeLayout` or text), else a fixed generated one when
`maze_seed` is given, else a fresh maze at every reset drawn from the reset's seed.
`info` holds the agent's `position`, the `steps` taken and its `open_moves`; at reset
also the `maze` as text (the map a planning agent may read) and `optimal_steps` (the BFS
shortest path, for reporting how far from optimal a policy is).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from llmagentos.envs.errors import InvalidMaze
from llmagentos.envs.layout import (
    AGENT,
    GOAL,
    MOVES,
    START,
    WALL,
    MazeLayout,
    Pos,
    action_index,
    generate_maze,
    optimal_steps,
    parse_maze,
)

OBSERVATIONS = ("array", "index", "text")
CODE_FLOOR, CODE_WALL, CODE_AGENT, CODE_GOAL = 0, 1, 2, 3
_COLOURS = {  # RGB for rgb_array renders
    "floor": (240, 240, 235),
    "wall": (40, 44, 52),
    "start": (190, 215, 250),
    "goal": (80, 190, 100),
    "agent": (220, 70, 60),
}


class MazeEnv(gym.Env[Any, Any]):
    """A grid maze with random solvable layouts; see the module docstring."""

    metadata: dict[str, Any] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(
        self,
        size: int | tuple[int, int] = 9,
        *,
        layout: MazeLayout | str | None = None,
        maze_seed: int | None = None,
        loops: float = 0.0,
        observation: str = "array",
        max_steps: int | None = None,
        step_penalty: float = 0.01,
        goal_reward: float = 1.0,
        render_mode: str | None = None,
        cell_pixels: int = 16,
    ) -> None:
        if observation not in OBSERVATIONS:
            raise InvalidMaze(f"observation must be one of {OBSERVATIONS}, got {observation!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise InvalidMaze(
                f"render_mode must be one of {self.metadata['render_modes']} or None,"
                f" got {render_mode!r}"
            )
        if max_steps is not None and max_steps < 1:
            raise InvalidMaze(f"max_steps must be positive, got {max_steps}")
        self.fixed: MazeLayout | None = parse_maze(layout) if isinstance(layout, str) else layout
        if self.fixed is None and maze_seed is not None:
            self.fixed = generate_maze(size, maze_seed, loops)
        self.size, self.loops = size, loops
        # Generating once validates size/loops and fixes the spaces' shapes.
        self.layout = self.fixed or generate_maze(size, 0, loops)
        self.observation = observation
        self.max_steps = max_steps
        self.step_penalty = step_penalty
        self.goal_reward = goal_reward
        self.render_mode = render_mode
        self.cell_pixels = cell_pixels
        self.action_space = spaces.Discrete(4)
        self.observation_space = self._space(self.layout)
        self.position: Pos = self.layout.start
        self.steps = 0
        self.optimal = optimal_steps(self.layout)

    # -- spaces and observations --------------------------------------------------------

    def _space(self, layout: MazeLayout) -> spaces.Space[Any]:
        h, w = layout.height, layout.width
        if self.observation == "index":
            return spaces.Discrete(h * w)
        if self.observation == "text":
            return spaces.Text(max_length=h * (w + 1), charset="#.SGA\n")
        return spaces.Box(low=0, high=3, shape=(h, w), dtype=np.uint8)

    def grid(self) -> np.ndarray:
        """The grid as `uint8` codes (0 floor, 1 wall, 2 agent, 3 goal)."""
        out = np.array(
            [[CODE_WALL if ch == WALL else CODE_FLOOR for ch in row] for row in self.layout.rows],
            dtype=np.uint8,
        )
        out[self.layout.goal] = CODE_GOAL
        out[self.position] = CODE_AGENT
        return out

    def state_index(self, pos: Pos | None = None) -> int:
        """A cell as one integer (`row * width + column`), the tabular state."""
        r, c = self.position if pos is None else pos
        return r * self.layout.width + c

    def text(self) -> str:
        """The grid as text, the agent shown as `A`."""
        return self.layout.text(agent=self.position)

    def _observe(self) -> Any:
        if self.observation == "index":
            return self.state_index()
        if self.observation == "text":
            return self.text()
        return self.grid()

    def _info(self) -> dict[str, Any]:
        open_moves = [
            m for a, m in enumerate(MOVES) if self.layout.move(self.position, a) != self.position
        ]
        return {"position": self.position, "steps": self.steps, "open_moves": open_moves}

    # -- the Gymnasium API --------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Start an episode; `options` may carry a `layout` (text or `MazeLayout`)."""
        super().reset(seed=seed)
        layout = (options or {}).get("layout")
        if layout is not None:
            new = parse_maze(layout) if isinstance(layout, str) else layout
            if (new.height, new.width) != (self.layout.height, self.layout.width):
                raise InvalidMaze(
                    f"options['layout'] is {new.height}x{new.width}, but this environment's"
                    f" observations are {self.layout.height}x{self.layout.width}"
                )
            self.layout = new
        elif self.fixed is None:
            self.layout = generate_maze(
                self.size, int(self.np_random.integers(2**31 - 1)), self.loops
            )
        self.position = self.layout.start
        self.steps = 0
        self.optimal = optimal_steps(self.layout)
        info = {**self._info(), "optimal_steps": self.optimal, "maze": self.layout.text()}
        return self._observe(), info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """Move one cell (0 up, 1 down, 2 left, 3 right; move names are accepted too)."""
        a = action_index(int(action) if isinstance(action, np.integer) else action)
        self.position = self.layout.move(self.position, a)
        self.steps += 1
        terminated = self.position == self.layout.goal
        reward = self.goal_reward if terminated else -self.step_penalty
        truncated = not terminated and self.steps >= self.step_limit
        return self._observe(), float(reward), terminated, truncated, self._info()

    @property
    def step_limit(self) -> int:
        """Steps after which an episode is truncated (default: 4 per tile of the grid)."""
        return self.max_steps or 4 * self.layout.height * self.layout.width

    def render(self) -> Any:
        """`ansi`: the grid as text; `rgb_array`: an image, `cell_pixels` per tile."""
        if self.render_mode == "ansi":
            return self.text() + "\n"
        if self.render_mode == "rgb_array":
            return self._image()
        return None

    def _image(self) -> np.ndarray:
        h, w = self.layout.height, self.layout.width
        img = np.empty((h, w, 3), dtype=np.uint8)
        for r, row in enumerate(self.layout.text(agent=self.position).split("\n")):
            for c, ch in enumerate(row):
                img[r, c] = _COLOURS[_COLOUR_OF.get(ch, "floor")]
        px = self.cell_pixels
        return np.repeat(np.repeat(img, px, axis=0), px, axis=1)


_COLOUR_OF = {WALL: "wall", START: "start", GOAL: "goal", AGENT: "agent"}
