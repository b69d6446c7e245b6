"""Every example runs, and gives the answers it promises."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_seed_customer_service(tmp_path: Path) -> None:
    replies = load("seed_customer_service").main(str(tmp_path))
    assert [r["text"][:9] for r in replies] == ["You can t", "Refunds a"]


async def test_research_team(tmp_path: Path) -> None:
    answers = await load("research_team").main(str(tmp_path))
    assert answers == {"6 * 7": "42", "2 ** 10": "1024", "100 / 8": "12.5"}
