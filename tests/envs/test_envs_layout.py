"""Maze layouts: seeded generation, parsing with clear errors, shortest paths."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmagentos.envs import (
    InvalidMaze,
    UnsolvableMaze,
    action_index,
    distances_from,
    from_grid,
    generate_maze,
    optimal_steps,
    parse_maze,
    shortest_path,
)
from llmagentos.errors import InvalidArgument


def test_the_same_seed_gives_the_same_maze_and_others_differ() -> None:
    assert generate_maze(11, seed=3) == generate_maze(11, seed=3)
    assert generate_maze(11, seed=3).rows != generate_maze(11, seed=4).rows


def test_a_generated_maze_is_framed_and_starts_top_left() -> None:
    maze = generate_maze((7, 11), seed=1)
    assert (maze.height, maze.width) == (7, 11)
    assert maze.rows[0] == "#" * 11 and maze.rows[-1] == "#" * 11
    assert maze.start == (1, 1) and maze.goal == (5, 9)


@settings(max_examples=30, deadline=None)
@given(
    size=st.sampled_from([5, 7, 9, 13]),
    seed=st.integers(0, 10_000),
    loops=st.floats(0, 1),
)
def test_every_generated_maze_is_solvable_and_connected(size: int, seed: int, loops: float) -> None:
    maze = generate_maze(size, seed, loops)
    reach = distances_from(maze, maze.start)
    assert set(reach) == set(maze.free_cells())  # every floor cell is reachable
    assert optimal_steps(maze) == reach[maze.goal]


def test_loops_add_shortcuts_so_paths_get_no_longer() -> None:
    for seed in range(10):
        assert optimal_steps(generate_maze(15, seed, 0.5)) <= optimal_steps(generate_maze(15, seed))


@pytest.mark.parametrize("size", [4, 3, 0, 203, (5, 6)])
def test_bad_sizes_are_refused(size: int | tuple[int, int]) -> None:
    with pytest.raises(InvalidMaze, match="odd number"):
        generate_maze(size)


def test_loops_out_of_range_are_refused() -> None:
    with pytest.raises(InvalidMaze, match="loops"):
        generate_maze(9, loops=1.5)


def test_parse_reads_a_custom_maze_and_bfs_finds_the_shortest_path() -> None:
    maze = parse_maze(
        """
#######
#S..#.#
#.#.#.#
#.#...#
#...#G#
#######
"""
    )
    assert maze.start == (1, 1) and maze.goal == (4, 5)
    path = shortest_path(maze)
    assert path[0] == maze.start and path[-1] == maze.goal
    assert len(path) - 1 == optimal_steps(maze) == 7
    assert all(abs(a[0] - b[0]) + abs(a[1] - b[1]) == 1 for a, b in itertools.pairwise(path))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("S.#\n..", "line 2 has 2 characters"),
        ("S.x\n..G", "line 1, column 3: unknown character 'x'"),
        ("...\n..G", "exactly one 'S'"),
        ("S.G\n..G", "exactly one 'G'.*found 2"),
    ],
)
def test_malformed_layouts_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidMaze, match=message):
        parse_maze(text)


def test_an_unsolvable_layout_is_its_own_error() -> None:
    with pytest.raises(UnsolvableMaze, match="no path") as err:
        parse_maze("S#.\n.#G")
    assert isinstance(err.value, InvalidMaze) and isinstance(err.value, InvalidArgument)
    assert err.value.to_info().type == "UnsolvableMaze"


def test_the_seeds_grid_form_is_accepted() -> None:
    seed_maze = [[0, 0, 0, 0], [1, 1, 0, 1], [0, 0, 0, 0], [1, 0, 1, 0]]
    maze = from_grid(seed_maze)
    assert maze.start == (0, 0) and maze.goal == (3, 3)
    assert optimal_steps(maze) == 6
    with pytest.raises(InvalidMaze, match=r"0 \(floor\) and 1 \(wall\)"):
        from_grid([[0, 2]])
    with pytest.raises(InvalidMaze, match=r"goal .* is not a floor cell"):
        from_grid([[0, 1]])


def test_actions_are_indices_or_move_names() -> None:
    assert [action_index(a) for a in (0, 3, "up", " Down ", "LEFT", "right")] == [0, 3, 0, 1, 2, 3]
    for bad in (4, -1, "jump", True):
        with pytest.raises(InvalidArgument, match="an action is"):
            action_index(bad)
