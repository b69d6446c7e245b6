"""Fixtures for the local core: a tiny random Llama model made on disk once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from llmagentos.llm.local import EngineConfig, EngineCore, LoadedModel, load_model  # noqa: E402
from llmagentos.llm.local.tiny import make_model  # noqa: E402
from llmagentos.testing import block_real_models  # noqa: E402


@pytest.fixture(autouse=True)
def _no_real_models() -> Iterator[None]:
    with block_real_models():
        yield


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Tiny models gain nothing from threads, and on a busy machine OpenMP threads that
    wait for each other make every op many times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved tiny Llama (hidden 64, 2 layers, GQA, 512-token window, BPE tokenizer)."""
    from transformers.utils import logging

    logging.disable_progress_bar()
    return make_model(tmp_path_factory.mktemp("models") / "tiny", "tiny")


@pytest.fixture(scope="session")
def tiny(tiny_path: Path) -> LoadedModel:
    """The tiny model loaded through the real `hf:` loading code, on CPU."""
    return load_model(str(tiny_path))


@pytest.fixture
def make_core(tiny: LoadedModel) -> Any:
    """`make_core(**config)`: a fresh engine over the shared tiny model."""

    def make(**options: Any) -> EngineCore:
        options.setdefault("cascade_min", 8)  # tiny prompts: let shared prefixes cascade
        return EngineCore(
            tiny.model,
            tiny.tokenizer,
            eos_ids=tiny.eos_ids,
            window=tiny.window,
            config=EngineConfig(**options),
        )

    return make
