"""Checkpoints: everything needed to continue a run exactly where it stopped.

A checkpoint is a directory `checkpoints/step-00000100/` holding the model
(`model.safetensors`), the optimizer and scheduler states (`optimizer.pt`), and
`trainer.json`: the step, the run's fingerprint, the data position and the RNG states. It is
written under a temporary name and renamed into place, and `trainer.json` is written last, so
a crash mid-save leaves the previous checkpoint as the latest complete one.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmagentos.learning.errors import CheckpointError

if TYPE_CHECKING:
    import torch
    from torch import nn

_STATE = "trainer.json"


@dataclass(frozen=True, slots=True)
class Resumed:
    """What `load_checkpoint` restored besides the tensors."""

    step: int
    path: Path
    extra: dict[str, Any]


def checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoints in `run_dir`, oldest first."""
    root = run_dir / "checkpoints"
    if not root.is_dir():
        return []
    found = [p for p in root.glob("step-*") if p.is_dir() and not p.name.endswith(".tmp")]
    return sorted((p for p in found if (p / _STATE).exists()), key=lambda p: p.name)


def save_checkpoint(
    run_dir: Path,
    step: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    *,
    fingerprint: dict[str, Any],
    extra: dict[str, Any],
    keep: int = 2,
) -> Path:
    """Write a checkpoint for `step` atomically and prune all but the newest `keep`."""
    import torch
    from safetensors.torch import save_model

    root = run_dir / "checkpoints"
    final = root / f"step-{step:08d}"
    tmp = root / f"step-{step:08d}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_model(model, str(tmp / "model.safetensors"))
    torch.save(
        {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()},
        tmp / "optimizer.pt",
    )
    state = {
        "step": step,
        "fingerprint": fingerprint,
        "extra": extra,
        "python_rng": _jsonable(random.getstate()),
        "torch_rng": torch.get_rng_state().tolist(),
    }
    (tmp / _STATE).write_text(json.dumps(state))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    for old in checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _jsonable(value: Any) -> Any:
    return [_jsonable(v) for v in value] if isinstance(value, tuple | list) else value


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _corrupt(path: Path, why: str) -> CheckpointError:
    return CheckpointError(
        f"checkpoint {path} is unusable ({why}); delete it to resume from an older one, or "
        "start over with restart=True (`--restart`)",
        path=str(path),
    )


def read_state(path: Path) -> dict[str, Any]:
    """The `trainer.json` of a checkpoint; `CheckpointError` if it is unreadable."""
    try:
        state = json.loads((path / _STATE).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _corrupt(path, f"{_STATE}: {exc}") from None
    if not isinstance(state, dict) or not isinstance(state.get("step"), int):
        raise _corrupt(path, f"{_STATE} has no step")
    return state


def check_fingerprint(path: Path, state: dict[str, Any], fingerprint: dict[str, Any]) -> None:
    """Refuse to resume a run whose configuration or data changed since the checkpoint."""
    saved = _flat(state.get("fingerprint", {}))
    now = _flat(json.loads(json.dumps(fingerprint)))  # as it reads back from trainer.json
    if saved != now:
        keys = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
        raise CheckpointError(
            f"checkpoint {path} belongs to a run with a different configuration (differs in: "
            f"{', '.join(keys)}); use another output directory or restart=True (`--restart`)",
            path=str(path),
            differs=keys,
        )


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """`{"train": {"lr": 1}}` as `{"train.lr": 1}`, so a mismatch names the exact field."""
    if not isinstance(value, dict):
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, item in value.items():
        out.update(_flat(item, f"{prefix}.{key}" if prefix else str(key)))
    return out


def load_checkpoint(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    *,
    fingerprint: dict[str, Any],
) -> Resumed:
    """Restore model, optimizer, scheduler and RNG states from `path`."""
    import torch
    from safetensors.torch import load_model

    state = read_state(path)
    check_fingerprint(path, state, fingerprint)
    try:
        missing, unexpected = load_model(model, str(path / "model.safetensors"), strict=False)
        if unexpected or [m for m in missing if not _is_tied(model, m)]:
            raise ValueError(f"tensor names do not match the model: {sorted(missing)[:3]}")
        saved = torch.load(path / "optimizer.pt", weights_only=True)
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        random.setstate(_tuples(state["python_rng"]))
        torch.set_rng_state(torch.tensor(state["torch_rng"], dtype=torch.uint8))
    except CheckpointError:
        raise
    except Exception as exc:  # safetensors, pickle and shape errors all mean "corrupt" here
        raise _corrupt(path, f"{type(exc).__name__}: {str(exc)[:200]}") from None
    return Resumed(step=state["step"], path=path, extra=state.get("extra", {}))


def _is_tied(model: nn.Module, name: str) -> bool:
    """True for a parameter name that is another parameter under a second name (tied)."""
    params = dict(model.named_parameters(remove_duplicate=False))
    unique = dict(model.named_parameters())
    return name in params and name not in unique
