"""Maze layouts: generate solvable ones from a seed, parse custom ones, find shortest paths.

Pure Python (no numpy, no gymnasium), so layouts, validation and BFS work without the
`envs` extra. A layout is a grid of walls (`#`) and floor (`.`) with a start and a goal.
Generation carves a *perfect* maze (exactly one path between any two cells) with a
randomized depth-first search, then knocks out a fraction `loops` of the remaining inner
walls, which adds cycles so that "the shortest path" means something for a learner.

The same seed gives the same maze on every machine: generation uses `random.Random(seed)`,
whose sequence Python keeps stable across versions and platforms.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable, Sequence

from llmagentos.envs.errors import InvalidMaze, UnsolvableMaze
from llmagentos.errors import InvalidArgument
from llmagentos.records import record

Pos = tuple[int, int]

MOVES: tuple[str, ...] = ("up", "down", "left", "right")
"""Action names, in action-index order (the seed's order: 0 up, 1 down, 2 left, 3 right)."""
DELTAS: tuple[Pos, ...] = ((-1, 0), (1, 0), (0, -1), (0, 1))

WALL, FLOOR, START, GOAL, AGENT = "#", ".", "S", "G", "A"
MAX_SIZE = 201  # the cap keeps a bad tool argument from eating the memory


@record
class MazeLayout:
    """A maze: `rows` of `#`/`.` characters, a start and a goal (row, column) on floor."""

    rows: tuple[str, ...]
    start: Pos
    goal: Pos

    @property
    def height(self) -> int:
        return len(self.rows)

    @property
    def width(self) -> int:
        return len(self.rows[0])

    def is_free(self, pos: Pos) -> bool:
        """Whether `pos` is inside the grid and not a wall."""
        r, c = pos
        return 0 <= r < self.height and 0 <= c < self.width and self.rows[r][c] != WALL

    def move(self, pos: Pos, action: int) -> Pos:
        """Where `action` from `pos` leads (the same cell when a wall or the edge is in the way)."""
        dr, dc = DELTAS[action]
        nxt = (pos[0] + dr, pos[1] + dc)
        return nxt if self.is_free(nxt) else pos

    def free_cells(self) -> list[Pos]:
        return [
            (r, c) for r in range(self.height) for c in range(self.width) if self.rows[r][c] != WALL
        ]

    def text(self, agent: Pos | None = None) -> str:
        """The grid as text: `#` wall, `.` floor, `S` start, `G` goal, `A` the agent."""
        grid = [list(row) for row in self.rows]
        grid[self.start[0]][self.start[1]] = START
        grid[self.goal[0]][self.goal[1]] = GOAL
        if agent is not None:
            grid[agent[0]][agent[1]] = AGENT
        return "\n".join("".join(row) for row in grid)


def _size(size: int | Sequence[int]) -> Pos:
    if isinstance(size, int):
        height = width = size
    else:
        if len(size) != 2:
            raise InvalidMaze(f"size must be an int or (height, width), got {size!r}")
        height, width = int(size[0]), int(size[1])
    for name, n in (("height", height), ("width", width)):
        if n < 5 or n > MAX_SIZE or n % 2 == 0:
            raise InvalidMaze(
                f"maze {name} must be an odd number from 5 to {MAX_SIZE} (walls sit on even"
                f" rows and columns), got {n}",
                size=[height, width],
            )
    return height, width


def generate_maze(size: int | Sequence[int] = 9, seed: int = 0, loops: float = 0.0) -> MazeLayout:
    """A random solvable maze: start top-left, goal bottom-right (as in the seed's maze).

    `size` is the grid's height and width in tiles (odd, 5 to 201; an int for a square);
    `loops` in [0, 1] is the fraction of inner walls between cells removed after carving.
    """
    height, width = _size(size)
    if not 0.0 <= loops <= 1.0:
        raise InvalidMaze(f"loops must be between 0 and 1, got {loops}")
    rng = random.Random(seed)
    grid = [[WALL] * width for _ in range(height)]
    # Cells sit on odd coordinates; the tile between two neighbouring cells is a wall to carve.
    first = (1, 1)
    grid[1][1] = FLOOR
    stack = [first]
    while stack:
        r, c = stack[-1]
        options = [
            (r + 2 * dr, c + 2 * dc)
            for dr, dc in DELTAS
            if 0 < r + 2 * dr < height - 1
            and 0 < c + 2 * dc < width - 1
            and grid[r + 2 * dr][c + 2 * dc] == WALL
        ]
        if not options:
            stack.pop()
            continue
        nr, nc = rng.choice(options)
        grid[(r + nr) // 2][(c + nc) // 2] = FLOOR
        grid[nr][nc] = FLOOR
        stack.append((nr, nc))
    if loops > 0:
        for r, c in _inner_walls(height, width):
            if grid[r][c] == WALL and rng.random() < loops:
                grid[r][c] = FLOOR
    rows = tuple("".join(row) for row in grid)
    return MazeLayout(rows=rows, start=first, goal=(height - 2, width - 2))


def _inner_walls(height: int, width: int) -> Iterable[Pos]:
    """Wall tiles that separate two cells (one odd and one even coordinate, not the border)."""
    for r in range(1, height - 1):
        for c in range(1, width - 1):
            if (r % 2) != (c % 2):
                yield r, c


def parse_maze(text: str) -> MazeLayout:
    """Read a layout written with `#` walls, `.` floor, one `S` start and one `G` goal.

    Leading and trailing blank lines are ignored; every other line must have the same
    length. Problems raise `InvalidMaze` naming the line and column; a layout with no
    path from S to G raises `UnsolvableMaze`.
    """
    if not isinstance(text, str):
        raise InvalidMaze(f"a maze layout must be text, got {type(text).__name__}")
    lines = [line.rstrip("\r") for line in text.strip("\n").split("\n")]
    if not lines or not any(line.strip() for line in lines):
        raise InvalidMaze("the maze layout is empty")
    _check_shape(lines)
    found: dict[str, list[Pos]] = {START: [], GOAL: []}
    rows = []
    for r, line in enumerate(lines):
        for c, ch in enumerate(line):
            if ch in found:
                found[ch].append((r, c))
            elif ch not in (WALL, FLOOR):
                raise InvalidMaze(
                    f"line {r + 1}, column {c + 1}: unknown character {ch!r}; use '#' for walls,"
                    " '.' for floor, 'S' for the start and 'G' for the goal",
                    line=r + 1,
                    column=c + 1,
                )
        rows.append(line.replace(START, FLOOR).replace(GOAL, FLOOR))
    for mark, name in ((START, "start"), (GOAL, "goal")):
        if len(found[mark]) != 1:
            where = ", ".join(f"{r + 1}:{c + 1}" for r, c in found[mark])
            raise InvalidMaze(
                f"a maze needs exactly one {mark!r} ({name}); found {len(found[mark])}"
                + (f" at {where}" if where else "")
            )
    layout = MazeLayout(rows=tuple(rows), start=found[START][0], goal=found[GOAL][0])
    shortest_path(layout)  # refuse an unsolvable layout now, not at the first episode
    return layout


def _check_shape(lines: list[str]) -> None:
    width = len(lines[0])
    if len(lines) > MAX_SIZE or not 1 <= width <= MAX_SIZE:
        raise InvalidMaze(
            f"a maze must be at most {MAX_SIZE} lines of 1 to {MAX_SIZE} characters;"
            f" got {len(lines)} lines of {width}"
        )
    for r, line in enumerate(lines):
        if len(line) != width:
            raise InvalidMaze(
                f"line {r + 1} has {len(line)} characters but line 1 has {width}: a maze must"
                " be rectangular",
                line=r + 1,
            )


def from_grid(
    grid: Sequence[Sequence[int]], start: Pos = (0, 0), goal: Pos | None = None
) -> MazeLayout:
    """A layout from the seed's form: a list of rows of 0 (floor) and 1 (wall).

    The goal defaults to the bottom-right cell, as in the seed's `MazeEnv`.
    """
    if not grid or not all(isinstance(row, Sequence) and row for row in grid):
        raise InvalidMaze("a grid must be a non-empty list of non-empty rows of 0 and 1")
    cells = {v for row in grid for v in row}
    if not cells <= {0, 1}:
        raise InvalidMaze(
            f"a grid holds only 0 (floor) and 1 (wall); found {sorted(cells - {0, 1})}"
        )
    text = [[WALL if v else FLOOR for v in row] for row in grid]
    goal = goal if goal is not None else (len(grid) - 1, len(grid[-1]) - 1)
    for mark, (r, c) in ((START, start), (GOAL, goal)):
        if not (0 <= r < len(text) and 0 <= c < len(text[r])) or text[r][c] == WALL:
            raise InvalidMaze(
                f"{'start' if mark == START else 'goal'} {(r, c)} is not a floor cell"
            )
        text[r][c] = mark
    return parse_maze("\n".join("".join(row) for row in text))


def distances_from(layout: MazeLayout, source: Pos) -> dict[Pos, int]:
    """Breadth-first distances (in moves) from `source` to every reachable cell."""
    dist = {source: 0}
    queue = deque([source])
    while queue:
        pos = queue.popleft()
        for action in range(len(DELTAS)):
            nxt = layout.move(pos, action)
            if nxt not in dist:
                dist[nxt] = dist[pos] + 1
                queue.append(nxt)
    return dist


def shortest_path(layout: MazeLayout) -> list[Pos]:
    """The cells of a shortest path from start to goal (both included), by BFS.

    Raises `UnsolvableMaze` when the goal cannot be reached.
    """
    parent: dict[Pos, Pos | None] = {layout.start: None}
    queue = deque([layout.start])
    while queue:
        pos = queue.popleft()
        if pos == layout.goal:
            path = [pos]
            while (prev := parent[path[-1]]) is not None:
                path.append(prev)
            return path[::-1]
        for action in range(len(DELTAS)):
            nxt = layout.move(pos, action)
            if nxt not in parent:
                parent[nxt] = pos
                queue.append(nxt)
    raise UnsolvableMaze(
        f"no path leads from the start {layout.start} to the goal {layout.goal}",
        start=list(layout.start),
        goal=list(layout.goal),
    )


def optimal_steps(layout: MazeLayout) -> int:
    """The fewest moves from start to goal."""
    return len(shortest_path(layout)) - 1


def action_index(action: int | str) -> int:
    """An action as its index: 0-3, or a move name (`"up"`, `"Down"`, ...)."""
    if isinstance(action, bool):
        raise InvalidArgument(f"an action is 0-3 or one of {', '.join(MOVES)}; got {action!r}")
    if isinstance(action, int) and 0 <= action < len(MOVES):
        return action
    if isinstance(action, str) and action.strip().lower() in MOVES:
        return MOVES.index(action.strip().lower())
    raise InvalidArgument(f"an action is 0-3 or one of {', '.join(MOVES)}; got {action!r}")
