"""Training data: text loading, and batches that are a pure function of the step number.

`ExampleBatches.batch(step)` always returns the same batch for the same step — the order is
drawn per epoch from the seed — so the data position of a run is its step count, and a run
resumed from a checkpoint sees exactly the batches it would have seen without the stop.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmagentos.errors import InvalidArgument, NotFound
from llmagentos.learning.errors import CorpusTooSmall

if TYPE_CHECKING:
    from torch import Tensor

Record = dict[str, Any]  # field -> list[int] (padded per batch) or int (stacked)
Batch = dict[str, "Tensor"]
Transform = Callable[[Batch, int], Batch]
_GROUP = 32  # length grouping looks at this many batches' worth of examples at a time


def load_texts(path: str | Path) -> list[str]:
    """Documents from a `.txt` file (blank-line separated), a `.jsonl` file (`"text"` per
    line) or a directory of them (sorted by name)."""
    root = Path(path)
    if not root.exists():
        raise NotFound(f"corpus {root} does not exist")
    files = (
        sorted(p for p in root.rglob("*") if p.suffix in (".txt", ".jsonl"))
        if root.is_dir()
        else [root]
    )
    docs: list[str] = []
    for file in files:
        text = file.read_text(encoding="utf-8", errors="replace")
        if file.suffix == ".jsonl":
            docs.extend(_jsonl_texts(file, text))
        else:
            docs.extend(d.strip() for d in re.split(r"\n\s*\n", text) if d.strip())
    if not docs:
        raise CorpusTooSmall(f"corpus {root} holds no text (looked at {len(files)} file(s))")
    return docs


def _jsonl_texts(file: Path, text: str) -> Iterator[str]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidArgument(f"{file}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(value, dict) or not isinstance(value.get("text"), str):
            raise InvalidArgument(f'{file}:{number}: expected an object with a "text" string')
        if value["text"].strip():
            yield value["text"]


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file (blank lines skipped)."""
    rows: list[dict[str, Any]] = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise NotFound(f"cannot read {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidArgument(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(value, dict):
            raise InvalidArgument(f"{path}:{number}: expected a JSON object")
        rows.append(value)
    return rows


def read_labelled(path: str | Path) -> list[tuple[str, str]]:
    """`(text, label)` pairs from JSON lines with `"text"` and `"label"`."""
    rows = read_jsonl(path)
    bad = [
        n for n, r in enumerate(rows, 1) if not isinstance(r.get("text"), str) or "label" not in r
    ]
    if bad:
        raise InvalidArgument(f'{path}: objects {bad[:5]} need a "text" string and a "label"')
    return [(r["text"], str(r["label"])) for r in rows]


def split_sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


def holdout(items: Sequence[Any], fraction: float, seed: int) -> tuple[list[Any], list[Any]]:
    """Shuffle `items` by `seed` and split off `fraction` (at least one) for evaluation."""
    order = list(range(len(items)))
    random.Random(f"holdout:{seed}").shuffle(order)
    n_eval = max(1, round(len(items) * fraction)) if len(items) > 1 else 0
    return [items[i] for i in order[n_eval:]], [items[i] for i in order[:n_eval]]


def pack_blocks(docs: Sequence[Sequence[int]], block: int, eos_id: int) -> list[Record]:
    """Concatenate token lists (each ended by `eos_id`) and cut `block`-long pieces."""
    stream: list[int] = []
    for ids in docs:
        stream.extend(ids)
        if not ids or ids[-1] != eos_id:
            stream.append(eos_id)
    pieces = [stream[i : i + block] for i in range(0, len(stream) - block + 1, block)]
    return [{"input_ids": p, "labels": p} for p in pieces]  # one list: labels are the inputs


class ExampleBatches:
    """Batches of tokenised examples, padded per batch, in a seeded order per epoch.

    List fields are right-padded (`pad` gives each field's pad value; `labels` pad with
    -100 so padding never counts in a loss) and an `attention_mask` is added; int fields are
    stacked. `group_by_length` batches similar lengths together to waste less on padding.
    """

    def __init__(
        self,
        examples: Sequence[Record],
        batch_size: int,
        *,
        seed: int = 0,
        pad: dict[str, int] | None = None,
        group_by_length: bool = True,
        transform: Transform | None = None,
    ) -> None:
        if not examples:
            raise CorpusTooSmall("there are no training examples")
        self.examples = list(examples)
        self.batch_size = batch_size
        self.seed = seed
        self.pad = {"labels": -100, **(pad or {})}
        self.group_by_length = group_by_length
        self.transform = transform
        self._epochs: dict[int, list[list[int]]] = {}

    def __len__(self) -> int:
        return len(self.examples)

    @property
    def batches_per_epoch(self) -> int:
        return math.ceil(len(self.examples) / self.batch_size)

    def _length(self, index: int) -> int:
        return len(self.examples[index]["input_ids"])

    def _epoch(self, epoch: int) -> list[list[int]]:
        if epoch not in self._epochs:
            rng = random.Random(f"batches:{self.seed}:{epoch}")
            order = list(range(len(self.examples)))
            rng.shuffle(order)
            size, batches = self.batch_size, list[list[int]]()
            group = size * _GROUP if self.group_by_length else len(order)
            for start in range(0, len(order), group):
                chunk = order[start : start + group]
                if self.group_by_length:
                    chunk.sort(key=self._length, reverse=True)
                batches.extend(chunk[i : i + size] for i in range(0, len(chunk), size))
            rng.shuffle(batches)
            self._epochs = {epoch: batches}  # only the current epoch is kept
        return self._epochs[epoch]

    def batch(self, step: int) -> Batch:
        """The batch for training step `step` (0-based); the same step, the same batch."""
        epoch, index = divmod(step, self.batches_per_epoch)
        return self.collate(self._epoch(epoch)[index], step)

    def eval_batches(self, limit: int) -> Iterator[Batch]:
        """Up to `limit` batches in a fixed order (for evaluation)."""
        order = sorted(range(len(self.examples)), key=self._length)
        for n, start in enumerate(range(0, len(order), self.batch_size)):
            if n >= limit:
                return
            yield self.collate(order[start : start + self.batch_size], -1 - n)

    def collate(self, indices: Sequence[int], step: int) -> Batch:
        import torch

        rows = [self.examples[i] for i in indices]
        width = max(len(r["input_ids"]) for r in rows)
        out: Batch = {}
        for key, value in rows[0].items():
            if isinstance(value, list):
                fill = self.pad.get(key, 0)
                out[key] = torch.tensor([r[key] + [fill] * (width - len(r[key])) for r in rows])
            else:
                out[key] = torch.tensor([r[key] for r in rows])
        out["attention_mask"] = torch.tensor(
            [[1] * len(r["input_ids"]) + [0] * (width - len(r["input_ids"])) for r in rows]
        )
        return self.transform(out, step) if self.transform else out


def count_tokens(batch: Batch) -> int:
    """Tokens in a batch that are not padding."""
    return int(batch["attention_mask"].sum())
