"""Progress reporting for training runs: a rich progress bar, or nothing.

The training loop always appends its metrics to `log.jsonl` in the run directory (so a
background run can be followed with `tail -f`); a `Reporter` is the live display on top.
"""

from __future__ import annotations

from typing import Any, Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Reporter(Protocol):
    """Receives a run's progress: its start, each logged step, evaluations, notes."""

    def start(self, title: str, total: int, done: int) -> None: ...

    def step(self, step: int, metrics: dict[str, float]) -> None: ...

    def note(self, text: str) -> None: ...

    def close(self) -> None: ...


class SilentReporter:
    """Reports nothing (tests, library use)."""

    def start(self, title: str, total: int, done: int) -> None:
        pass

    def step(self, step: int, metrics: dict[str, float]) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


class RichReporter:
    """A progress bar with loss, eval loss and throughput, plus printed notes."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def start(self, title: str, total: int, done: int) -> None:
        self.close()
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
        )
        self._progress.start()
        self._task = self._progress.add_task(title, total=total, completed=done, stats="")

    def step(self, step: int, metrics: dict[str, float]) -> None:
        if self._progress is None or self._task is None:
            return
        self._progress.update(self._task, completed=step, stats=format_metrics(metrics))

    def note(self, text: str) -> None:
        self.console.print(text, highlight=False)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def format_metrics(metrics: dict[str, Any]) -> str:
    parts = []
    for key in ("loss", "eval_loss", "ppl", "lr", "tok_s"):
        if key in metrics:
            value = metrics[key]
            parts.append(f"{key} {value:.2e}" if key == "lr" else f"{key} {value:.3g}")
    return "  ".join(parts)
