"""Rich tables of training and evaluation results (the CLI and the benchmark print them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table

from llmagentos.learning.evaluate import HEADLINE
from llmagentos.learning.store import ModelInfo


def eval_table(figures: dict[str, Any], title: str = "held-out evaluation") -> Table:
    """Per-task rows and an overall row of a chat model's held-out figures."""
    per_task: dict[str, dict[str, float]] = figures.get("per_task", {})
    metrics = [m for m in HEADLINE if m in figures] + sorted(
        {m for values in per_task.values() for m in values} - set(HEADLINE)
    )
    table = Table(title=title)
    table.add_column("task")
    for m in metrics:
        table.add_column(m.replace("_", " "), justify="right")
    for task, values in per_task.items():
        table.add_row(task, *(f"{values[m]:.2f}" if m in values else "" for m in metrics))
    table.add_row(
        "[bold]all", *(f"[bold]{figures[m]:.3f}" if m in figures else "" for m in metrics)
    )
    return table


def classification_table(figures: dict[str, Any]) -> Table:
    """Precision, recall, F1 and support per label, accuracy and macro F1 in the title."""
    table = Table(title=f"accuracy {figures['accuracy']:.3f}, macro F1 {figures['macro_f1']:.3f}")
    for column in ("label", "precision", "recall", "f1", "support"):
        table.add_column(column, justify="left" if column == "label" else "right")
    for label, v in figures["labels"].items():
        table.add_row(
            label,
            f"{v['precision']:.3f}",
            f"{v['recall']:.3f}",
            f"{v['f1']:.3f}",
            str(v["support"]),
        )
    return table


def models_table(found: Sequence[ModelInfo], title: str) -> Table:
    """The models `llmagentos model list` shows, with the spec that loads each chat model."""
    table = Table(title=title)
    for column in ("name", "kind", "source", "parameters", "size", "spec"):
        table.add_column(column, no_wrap=column in ("name", "kind"))
    for m in found:
        params = m.manifest.get("parameters")
        spec = f"builtin:{m.name}" if m.kind == "causal-lm" else ""
        table.add_row(m.name, m.kind, m.source, _count(params), _size(m.size_bytes), spec)
    return table


def _count(n: Any) -> str:
    if not isinstance(n, int):
        return "?"
    return f"{n / 1e6:.1f}M" if n >= 100_000 else f"{n:,}"


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.1f} KiB"
