"""Models shipped inside the package: `builtin-<name>/` directories in Hugging Face format.

`builtin:tiny` loads `builtin-tiny/` (see `docs/builtin_model.md`); `builtin-news-sentiment/`
is the sentiment monitor's headline classifier (a head on a sentence encoder, found by
name as `news-sentiment`, not a chat model). Only paths live here;
loading goes through the LLM core, so importing this module imports nothing heavy.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent
PREFIX = "builtin-"


def shipped_dir(name: str) -> Path | None:
    """The directory of shipped model `name` (e.g. "tiny"), or None if there is none."""
    path = ROOT / f"{PREFIX}{name}"
    return path if (path / "config.json").is_file() else None


def shipped_names() -> list[str]:
    """Names of the models shipped in the package, sorted."""
    return sorted(
        p.name[len(PREFIX) :]
        for p in ROOT.glob(f"{PREFIX}*")
        if p.is_dir() and (p / "config.json").is_file()
    )
