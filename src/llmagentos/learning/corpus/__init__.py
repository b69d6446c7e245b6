"""The corpus the built-in model learns from, generated deterministically from a seed.

Tasks come from the bundled apps' domains: tool calls in the ReAct JSON format (calculator,
orders, weather, memory search, messages, reports, maze steps) and answers from the tools'
results; answers from a given or retrieved passage; one-sentence extractive summaries; maze
moves; sentiment and intent classification; a customer desk's replies; and, as an
auxiliary drill that is not evaluated, saying back a string exactly.

`generate(n, seed, "train")` draws the training mixture; `eval_set(seed)` draws a fixed
number of examples per task from *held-out* question frames and entities, so no eval
prompt occurs in the training corpus.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from pathlib import Path

from llmagentos.learning.corpus.apps import (
    desk_react_task,
    echo_long_task,
    recommend_task,
    translate_task,
)
from llmagentos.learning.corpus.classify import (
    classify_task,
    desk_task,
    labelled_texts,
    news_headlines,
    news_task,
)
from llmagentos.learning.corpus.echo import echo_task
from llmagentos.learning.corpus.example import Example, Target
from llmagentos.learning.corpus.maze import maze_task, maze_task_large
from llmagentos.learning.corpus.passages import qa_task, retrieval_task, summary_task
from llmagentos.learning.corpus.pools import Split
from llmagentos.learning.corpus.tools import SPECS, system_prompt
from llmagentos.learning.corpus.tooltasks import (
    calculator_task,
    memory_task,
    message_task,
    order_task,
    report_task,
    weather_task,
)

Generator = Callable[[random.Random, Split], Example]

TASKS: dict[str, tuple[Generator, float]] = {
    "calculator": (calculator_task, 13),
    "order": (order_task, 8),
    "weather": (weather_task, 5),
    "memory": (memory_task, 7),
    "retrieval": (retrieval_task, 8),
    "message": (message_task, 5),
    "report": (report_task, 3),
    "maze": (maze_task, 10),
    "qa": (qa_task, 16),
    "summary": (summary_task, 7),
    "classify": (classify_task, 12),
    "desk": (desk_task, 6),
    "echo": (echo_task, 6),
}
"""Task name → (generator, weight) of the first mixture (`v1`): the formats in general."""
TASKS_V2: dict[str, tuple[Generator, float]] = {
    **TASKS,
    # the tool tasks weigh more: the apps' tasks and the copy drill must not crowd them out
    "weather": (weather_task, 8),
    "memory": (memory_task, 10),
    "retrieval": (retrieval_task, 10),
    "message": (message_task, 8),
    "report": (report_task, 5),
    "desk_react": (desk_react_task, 12),
    "recommend": (recommend_task, 4),
    "translate": (translate_task, 6),
    "echo_long": (echo_long_task, 6),
}
"""The second mixture (`v2`): the first plus the apps' own prompts and a longer copy drill."""
TASKS_V3: dict[str, tuple[Generator, float]] = {
    **TASKS_V2,
    "maze": (maze_task_large, 14),
    "qa": (qa_task, 26),
    "retrieval": (retrieval_task, 14),
    "summary": (summary_task, 12),
    "message": (message_task, 10),
    "echo_long": (echo_long_task, 8),
}
"""The third mixture (`v3`): v2 weighted toward long spans to copy, and mazes up to 13 x 13."""
TASKS_V4: dict[str, tuple[Generator, float]] = {
    **TASKS_V2,
    "calculator": (calculator_task, 16),
    "weather": (weather_task, 14),
    "memory": (memory_task, 16),
    "message": (message_task, 12),
    "report": (report_task, 6),
    "maze": (maze_task, 12),
    "retrieval": (retrieval_task, 12),
    "qa": (qa_task, 18),
}
"""The fourth mixture (`v4`): v2 weighted toward tool calls and answers from passages, drawn
from the "wide" split (more phrasings of each request, see `pools`): a last tuning stage
for a model that copies well but has learned too few ways of being asked."""
TASKS_V5: dict[str, tuple[Generator, float]] = {**TASKS_V4, "news": (news_task, 10)}
"""A fifth mixture (`v5`, a probe so far): v4 and company headlines to label, the sentiment
monitor's domain (the v1-v4 sentiment texts are product reviews only)."""
MIXTURES = {"v1": TASKS, "v2": TASKS_V2, "v3": TASKS_V3, "v4": TASKS_V4, "v5": TASKS_V5}
WIDE = frozenset({"v4", "v5"})
"""Mixtures whose training draws come from the "wide" split."""
AUXILIARY = frozenset({"echo", "echo_long"})
"""Tasks trained on but not evaluated (they would flatter the figures)."""


def generate(n: int, seed: int = 0, split: Split = "train", mixture: str = "v1") -> list[Example]:
    """`n` examples drawn from a task mixture; the same arguments give the same list."""
    tasks = MIXTURES[mixture]
    if split == "train" and mixture in WIDE:
        split = "wide"
    rng = random.Random(f"corpus:{seed}:{split}" + ("" if mixture == "v1" else f":{mixture}"))
    names = list(tasks)
    weights = [tasks[name][1] for name in names]
    return [tasks[name][0](rng, split) for name in rng.choices(names, weights, k=n)]


def _held_out(names: Iterable[str], label: str, seed: int, per_task: int) -> list[Example]:
    """`per_task` held-out examples of each task in `names`, one seeded stream per task."""
    out: list[Example] = []
    for name in names:
        make = TASKS_V2[name][0]
        rng = random.Random(f"{label}:{seed}:{name}")
        out.extend(make(rng, "eval") for _ in range(per_task))
    return out


def eval_set(seed: int = 0, per_task: int = 40) -> list[Example]:
    """`per_task` held-out examples of every evaluated task, in task order."""
    return _held_out((n for n in TASKS_V2 if n not in AUXILIARY), "eval", seed, per_task)


def copy_probe_set(seed: int = 0, per_task: int = 40) -> list[Example]:
    """`per_task` held-out copy drills of each kind (`echo`, `echo_long`): a diagnostic of
    the one skill the answers lean on, reported apart from the headline figures."""
    return _held_out(sorted(AUXILIARY), "copy-probe", seed, per_task)


def user_prompts(examples: Iterable[Example]) -> set[str]:
    """The user messages of `examples` (to check that eval prompts are not in training)."""
    return {m["content"] for ex in examples for m in ex.messages if m["role"] == "user"}


def write_jsonl(examples: Iterable[Example], path: Path) -> int:
    """Write examples as JSON lines of `{"task", "messages", "tools"}`; returns the count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as f:
        for ex in examples:
            f.write(json.dumps(ex.to_json(), ensure_ascii=False) + "\n")
            count += 1
    return count


def export(root: Path, examples: int, seed: int = 0) -> tuple[int, int]:
    """Write `train.jsonl`, `eval.jsonl` (chat) and `{sentiment,intent,news}.{train,eval}.jsonl`
    (labelled texts; news: company headlines) under `root`; returns the train and eval
    conversation counts."""
    n = write_jsonl(generate(examples, seed, "train"), root / "train.jsonl")
    m = write_jsonl(eval_set(seed), root / "eval.jsonl")
    splits: tuple[tuple[Split, int], ...] = (("train", 2000), ("eval", 400))
    for task in ("sentiment", "intent", "news"):
        for split, count in splits:
            if task == "news":
                rows = news_headlines(seed, count, split)
            else:
                rows = labelled_texts(seed, count, split, task)
            with (root / f"{task}.{split}.jsonl").open("w", encoding="utf-8") as f:
                f.writelines(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in rows)
    return n, m


__all__ = [
    "MIXTURES",
    "SPECS",
    "TASKS",
    "TASKS_V2",
    "TASKS_V3",
    "TASKS_V4",
    "Example",
    "Target",
    "copy_probe_set",
    "eval_set",
    "export",
    "generate",
    "labelled_texts",
    "news_headlines",
    "system_prompt",
    "user_prompts",
    "write_jsonl",
]
