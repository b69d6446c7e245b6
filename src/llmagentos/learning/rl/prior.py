"""The LLM prior: a model's move preferences for each maze state, as a policy to start from.

For every floor cell the model is told where it is, where the goal is and which moves
are open, and asked which way to go (the wording the built-in model is trained on, see
`llmagentos.learning.corpus.maze`). `parse_preferences` turns whatever it answers (one
move, a ranked list of moves, a JSON object of probabilities, an `env_step` tool call)
into a distribution, smoothed so that no move has probability zero and RL can still
overturn a wrong preference. Each question is one `ctx.chat` system call, so it is
scheduled, metered and journaled.

`heuristic_maze_model()` is an offline stand-in for the model (a rule, not a language
model): it names the open move that most shortens the straight-line distance to the goal,
which is right in open rooms and wrong in front of dead ends, like a plausible guess.
"""

from __future__ import annotations

import json
import re

import numpy as np

from llmagentos.envs.layout import DELTAS, MOVES, MazeLayout, Pos
from llmagentos.kernel.context import ProcessContext
from llmagentos.llm.types import LLMRequest, Message
from llmagentos.records import record
from llmagentos.testing import FunctionModel

SYNONYMS = {"north": "up", "south": "down", "west": "left", "east": "right"}
_WORD = re.compile(r"\b(up|down|left|right|north|south|west|east)\b", re.IGNORECASE)
_OBJECT = re.compile(r"\{[^{}]*\}", re.DOTALL)
_CELL = re.compile(r"row (\d+), column (\d+)")
_OPEN = re.compile(r"Open moves: ([a-z, ]*)\.")
RANK_WEIGHTS = (0.55, 0.25, 0.12, 0.08)  # a ranked answer: the first-named move most likely


@record
class PriorReport:
    """The prior and how well the model's answers could be read."""

    prior: tuple[tuple[float, ...], ...]
    questions: int
    understood: int  # answers that parsed as move preferences (the rest count as uniform)

    def array(self) -> np.ndarray:
        return np.asarray(self.prior, dtype=np.float64)


def open_moves(layout: MazeLayout, pos: Pos) -> list[str]:
    """The moves from `pos` that do not run into a wall."""
    return [m for a, m in enumerate(MOVES) if layout.move(pos, a) != pos]


def state_prompt(layout: MazeLayout, pos: Pos, env_id: str = "maze") -> str:
    """The question asked for one state (deterministic, so a replay asks the same)."""
    return (
        f"In environment {env_id} you are at row {pos[0]}, column {pos[1]} of a"
        f" {layout.height} by {layout.width} maze. The goal is at row {layout.goal[0]},"
        f" column {layout.goal[1]}. Open moves: {', '.join(open_moves(layout, pos))}."
        " Which way should you move?"
    )


def parse_preferences(text: str, smoothing: float = 0.05) -> tuple[np.ndarray, bool]:
    """A distribution over the four moves from a model's answer, and whether it was readable.

    Read in order: a JSON object with move names as keys and non-negative numbers, or with
    an `"action"` naming a move (a tool call); else the move words in the text, ranked by
    first mention; else uniform (not readable).
    """
    probs = _from_json(text)
    if probs is None:
        probs = _from_words(text)
    understood = probs is not None
    p = probs if probs is not None else np.full(len(MOVES), 1.0 / len(MOVES))
    return (1 - smoothing) * p + smoothing / len(MOVES), understood


def _from_json(text: str) -> np.ndarray | None:
    for match in _OBJECT.finditer(text):
        try:
            data = json.loads(match.group(0))
        except json.JSONDecodeError:
            continue
        if not isinstance(data, dict):
            continue
        action = str(data.get("action", "")).strip().lower()
        if SYNONYMS.get(action, action) in MOVES:
            return _from_words(action)
        weights = np.zeros(len(MOVES))
        for key, value in data.items():
            move = SYNONYMS.get(str(key).strip().lower(), str(key).strip().lower())
            if move in MOVES and isinstance(value, int | float) and not isinstance(value, bool):
                weights[MOVES.index(move)] = max(0.0, float(value))
        if np.isfinite(weights).all() and weights.sum() > 0:
            out: np.ndarray = weights / weights.sum()
            return out
    return None


def _from_words(text: str) -> np.ndarray | None:
    ranked: list[int] = []
    for word in _WORD.findall(text):
        move = MOVES.index(SYNONYMS.get(word.lower(), word.lower()))
        if move not in ranked:
            ranked.append(move)
    if not ranked:
        return None
    weights = np.full(len(MOVES), RANK_WEIGHTS[-1] / 2)
    for rank, move in enumerate(ranked):
        weights[move] = RANK_WEIGHTS[rank]
    out: np.ndarray = weights / weights.sum()
    return out


async def llm_prior(
    ctx: ProcessContext,
    layout: MazeLayout,
    *,
    model: str | None = None,
    env_id: str = "maze",
    smoothing: float = 0.05,
    max_tokens: int = 60,
) -> PriorReport:
    """Ask the model about every floor cell but the goal; walls and the goal stay uniform."""
    n = layout.height * layout.width
    prior = np.full((n, len(MOVES)), 1.0 / len(MOVES))
    questions = understood = 0
    for pos in layout.free_cells():
        if pos == layout.goal:
            continue
        answer = await ctx.chat(
            state_prompt(layout, pos, env_id), model=model, max_tokens=max_tokens, temperature=0.0
        )
        p, ok = parse_preferences(answer.text, smoothing)
        prior[pos[0] * layout.width + pos[1]] = p
        questions += 1
        understood += ok
    return PriorReport(tuple(tuple(float(x) for x in row) for row in prior), questions, understood)


# -- the offline stand-in ---------------------------------------------------------------


def heuristic_move(prompt: str) -> str | None:
    """The move a "straight-line" guesser names for the state described in `prompt`."""
    cells = _CELL.findall(prompt)
    found = _OPEN.search(prompt)
    if len(cells) < 2 or found is None:
        return None
    (r, c), (gr, gc) = ((int(a), int(b)) for a, b in cells[:2])
    moves = [m.strip() for m in found.group(1).split(",") if m.strip() in MOVES]
    if not moves:
        return None

    def distance_after(move: str) -> int:
        dr, dc = DELTAS[MOVES.index(move)]
        return abs(r + dr - gr) + abs(c + dc - gc)

    return min(moves, key=distance_after)  # ties: the first open move listed


def heuristic_maze_model(name: str = "maze-heuristic") -> FunctionModel:
    """A model double answering maze questions by the straight-line rule (offline)."""

    def answer(messages: tuple[Message, ...], request: LLMRequest) -> str:
        move = heuristic_move(messages[-1].content)
        return move if move is not None else "I do not see a maze."

    return FunctionModel(answer, name=name)
