"""The models directory: where trained models live and how a name finds one.

Default `~/.cache/llmagentos/models`, or `$LLMAGENTOS_MODELS`, or an explicit path. Each
model is a Hugging Face directory (config, safetensors weights, tokenizer) plus
`llmagentos.json`, a manifest saying what kind of model it is and how it was made. Runs in
progress keep their checkpoints under `.runs/<name>/`, apart from finished models.

`resolve("tiny")` looks in the models directory first, then among the models shipped in the
package, so a model you trained under a shipped name takes its place.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmagentos import models as shipped
from llmagentos.errors import InvalidArgument, UnknownModel

ENV = "LLMAGENTOS_MODELS"
MANIFEST = "llmagentos.json"
KINDS = ("causal-lm", "masked-lm", "classifier", "embedding-classifier")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")


def models_dir(override: str | Path | None = None) -> Path:
    """The models directory: `override`, else `$LLMAGENTOS_MODELS`, else the user cache."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get(ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "llmagentos" / "models"


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name) or name.endswith(".tmp"):
        raise InvalidArgument(
            f"model name {name!r} must be 1-64 letters, digits, '_', '-' or '.', starting "
            "with a letter or digit"
        )
    return name


def run_dir(name: str, stage: str, root: str | Path | None = None) -> Path:
    """Where run `name`'s stage `stage` keeps checkpoints and its log."""
    return models_dir(root) / ".runs" / check_name(name) / stage


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A model found in the models directory or shipped in the package."""

    name: str
    path: Path
    source: str  # "user" | "shipped"
    kind: str
    size_bytes: int
    manifest: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "source": self.source,
            "kind": self.kind,
            "size_bytes": self.size_bytes,
            "parameters": self.manifest.get("parameters"),
        }


def write_manifest(path: Path, kind: str, **info: Any) -> dict[str, Any]:
    if kind not in KINDS:
        raise InvalidArgument(f"model kind must be one of {KINDS}, got {kind!r}")
    manifest = {"kind": kind, "created": datetime.now(UTC).isoformat(timespec="seconds"), **info}
    (path / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return manifest


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of model directory `path` ({} if it has none or it is unreadable)."""
    try:
        value = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def publish(tmp: Path, final: Path) -> Path:
    """Move a fully written model directory into place, replacing an older one."""
    old = final.with_name(final.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def _info(name: str, path: Path, source: str) -> ModelInfo:
    manifest = read_manifest(path)
    size = sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    return ModelInfo(name, path, source, str(manifest.get("kind", "unknown")), size, manifest)


def list_models(root: str | Path | None = None) -> list[ModelInfo]:
    """User models (from the models directory) then shipped ones, each sorted by name."""
    found: list[ModelInfo] = []
    base = models_dir(root)
    if base.is_dir():
        for path in sorted(base.iterdir()):
            if path.is_dir() and _NAME.fullmatch(path.name) and (path / "config.json").exists():
                found.append(_info(path.name, path, "user"))
    for name in shipped.shipped_names():
        folder = shipped.shipped_dir(name)
        if folder is not None:
            found.append(_info(name, folder, "shipped"))
    return found


def resolve(name: str, root: str | Path | None = None) -> Path:
    """The directory of model `name`: a path, a user model, or a shipped one."""
    if "/" in name or name.startswith((".", "~")):
        path = Path(name).expanduser()
        if (path / "config.json").is_file():
            return path
        raise UnknownModel(f"{path} is not a model directory (it has no config.json)")
    user = models_dir(root) / check_name(name)
    if (user / "config.json").is_file():
        return user
    bundled = shipped.shipped_dir(name)
    if bundled is not None:
        return bundled
    known = sorted({m.name for m in list_models(root)})
    raise UnknownModel(
        f"no model named {name!r} in {models_dir(root)} or shipped with llmagentos; "
        f"known: {', '.join(known) or 'none'} (train one with `llmagentos model train`)",
        name=name,
    )
