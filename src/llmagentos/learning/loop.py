"""The training loop every objective shares: plain PyTorch, resumable, deterministic.

`train(model, data, config, run_dir)` runs AdamW with linear warm-up and cosine decay,
clips gradients, logs to `run_dir/log.jsonl`, evaluates (loss and perplexity) every
`eval_every` steps, and checkpoints every `checkpoint_every` steps and on Ctrl-C. Run it
again on the same `run_dir` and it continues from the newest checkpoint; because batches
are a function of the step and RNG states are restored, the result equals an
uninterrupted run's.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmagentos.learning.checkpoint import checkpoints, load_checkpoint, save_checkpoint
from llmagentos.learning.config import TrainConfig
from llmagentos.learning.data import Batch, ExampleBatches, count_tokens
from llmagentos.learning.errors import TrainingDiverged
from llmagentos.learning.progress import Reporter, SilentReporter

if TYPE_CHECKING:
    import torch
    from torch import nn


@dataclass(frozen=True, slots=True)
class TrainResult:
    """How a run went: steps done, where it resumed, final losses, tokens and time."""

    run_dir: Path
    steps: int
    resumed_from: int | None
    loss: float | None
    eval_loss: float | None
    tokens: int
    seconds: float

    @property
    def perplexity(self) -> float | None:
        return math.exp(min(self.eval_loss, 50.0)) if self.eval_loss is not None else None


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW; biases and norm weights (1-D tensors) get no weight decay."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, 0.95), eps=1e-8)


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig) -> Any:
    """Linear warm-up to `lr`, then cosine decay to `lr * min_lr_ratio`."""
    import torch

    warmup, total, floor = config.warmup_steps, config.steps, config.min_lr_ratio

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def evaluate_loss(model: nn.Module, batches: list[Batch] | Any) -> float | None:
    """Mean loss over `batches`, weighted by the tokens (or rows) each one scores."""
    import torch

    was_training = model.training
    model.eval()
    total, weight = 0.0, 0
    with torch.no_grad():
        for batch in batches:
            labels = batch["labels"]
            w = int((labels != -100).sum()) if labels.ndim > 1 else labels.shape[0]
            if w:
                total += float(model(**batch).loss) * w
                weight += w
    model.train(was_training)
    return total / weight if weight else None


class _Log:
    def __init__(self, path: Path) -> None:
        self.file = path.open("a", encoding="utf-8")

    def write(self, **entry: Any) -> None:
        self.file.write(json.dumps(entry) + "\n")
        self.file.flush()


def train(
    model: nn.Module,
    data: ExampleBatches,
    config: TrainConfig,
    run_dir: Path,
    *,
    eval_data: ExampleBatches | None = None,
    fingerprint: dict[str, Any] | None = None,
    title: str = "training",
    reporter: Reporter | None = None,
    restart: bool = False,
) -> TrainResult:
    """Train `model` on `data` for `config.steps` steps, resuming from `run_dir` if it can."""
    import torch

    if config.threads:
        torch.set_num_threads(config.threads)
    reporter = reporter or SilentReporter()
    run_dir.mkdir(parents=True, exist_ok=True)
    fp = {"train": config.fingerprint(), **(fingerprint or {})}
    optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(optimizer, config)
    if restart:
        shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
        (run_dir / "log.jsonl").unlink(missing_ok=True)
    start, resumed, seconds, tokens = 0, None, 0.0, 0
    found = checkpoints(run_dir)
    if found:
        state = load_checkpoint(found[-1], model, optimizer, scheduler, fingerprint=fp)
        start = resumed = state.step
        seconds, tokens = state.extra.get("seconds", 0.0), state.extra.get("tokens", 0)
        reporter.note(f"resuming {title} from {state.path.name} (step {start}/{config.steps})")
    evals = list(eval_data.eval_batches(config.eval_batches)) if eval_data else []
    log = _Log(run_dir / "log.jsonl")
    window: list[float] = []
    eval_loss: float | None = None
    final_loss = _last_loss(run_dir)
    done = last_saved = start
    began = time.monotonic()

    def save() -> None:
        nonlocal last_saved
        extra = {"seconds": seconds + time.monotonic() - began, "tokens": tokens}
        save_checkpoint(
            run_dir,
            done,
            model,
            optimizer,
            scheduler,
            fingerprint=fp,
            extra=extra,
            keep=config.keep_checkpoints,
        )
        last_saved = done

    model.train()
    reporter.start(title, config.steps, start)
    try:
        window_start, window_tokens = time.monotonic(), 0
        for step in range(start, config.steps):
            batch = data.batch(step)
            loss = model(**batch).loss
            if not math.isfinite(loss.item()):
                raise TrainingDiverged(
                    f"the loss became {loss.item()} at step {step}; lower the learning rate "
                    f"(now {config.lr}) or raise warmup_steps",
                    step=step,
                )
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            done = step + 1
            window.append(loss.item())
            window_tokens += count_tokens(batch)
            tokens += count_tokens(batch)
            metrics: dict[str, float] = {}
            if done % config.log_every == 0 or done == config.steps:
                elapsed = max(1e-9, time.monotonic() - window_start)
                metrics = {
                    "loss": sum(window) / len(window),
                    "lr": scheduler.get_last_lr()[0],
                    "tok_s": window_tokens / elapsed,
                }
                window_start, window_tokens = time.monotonic(), 0
            if evals and (done % config.eval_every == 0 or done == config.steps):
                eval_loss = evaluate_loss(model, evals)
                if eval_loss is not None:
                    metrics |= {"eval_loss": eval_loss, "ppl": math.exp(min(eval_loss, 50.0))}
            if metrics:
                log.write(
                    step=done,
                    elapsed_s=round(seconds + time.monotonic() - began, 2),
                    **{k: round(v, 6) for k, v in metrics.items()},
                )
                reporter.step(done, metrics)
                if "loss" in metrics:
                    final_loss, window = metrics["loss"], []
            if done % config.checkpoint_every == 0 or done == config.steps:
                save()
    except KeyboardInterrupt:
        if done > last_saved:
            save()
        reporter.note(f"{title} interrupted at step {done}: run the same command to resume")
        raise
    finally:
        reporter.close()
        log.file.close()
    if eval_loss is None and evals:
        eval_loss = evaluate_loss(model, evals)
    return TrainResult(
        run_dir=run_dir,
        steps=config.steps,
        resumed_from=resumed,
        loss=final_loss,
        eval_loss=eval_loss,
        tokens=tokens,
        seconds=seconds + time.monotonic() - began,
    )


def _last_loss(run_dir: Path) -> float | None:
    """The last logged training loss (for a run that was already complete)."""
    try:
        lines = (run_dir / "log.jsonl").read_text().splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        entry = json.loads(line)
        if "loss" in entry:
            return float(entry["loss"])
    return None
