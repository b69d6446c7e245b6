"""The models directory, name resolution, and the `builtin:` provider on the local core."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from llmagentos import models as shipped
from llmagentos.errors import InvalidArgument, UnknownModel
from llmagentos.learning import store
from llmagentos.llm.spec import ModelSpec, create_backend, register_provider
from llmagentos.llm.types import LLMRequest, Message


def fake_model(path: Path, kind: str = "causal-lm") -> Path:
    path.mkdir(parents=True)
    (path / "config.json").write_text("{}")
    store.write_manifest(path, kind, parameters=1234)
    return path


def test_models_dir_comes_from_the_argument_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert store.models_dir(tmp_path / "x") == tmp_path / "x"
    monkeypatch.setenv(store.ENV, str(tmp_path / "env"))
    assert store.models_dir() == tmp_path / "env"
    monkeypatch.delenv(store.ENV)
    assert store.models_dir() == Path.home() / ".cache" / "llmagentos" / "models"


def test_resolve_prefers_user_models_then_shipped_ones(
    tmp_path: Path, _models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shipped, "ROOT", tmp_path / "pkg")
    bundled = fake_model(tmp_path / "pkg" / "builtin-tiny")
    assert store.resolve("tiny") == bundled
    mine = fake_model(_models_dir / "tiny")
    assert store.resolve("tiny") == mine
    listed = [(m.name, m.source, m.kind) for m in store.list_models()]
    assert listed == [("tiny", "user", "causal-lm"), ("tiny", "shipped", "causal-lm")]
    assert store.resolve(str(mine)) == mine
    with pytest.raises(UnknownModel, match="known: tiny"):
        store.resolve("nope")
    with pytest.raises(InvalidArgument):
        store.resolve("bad name!")


def test_run_state_is_kept_apart_from_models(_models_dir: Path) -> None:
    fake_model(_models_dir / "a")
    (store.run_dir("a", "pretrain") / "checkpoints").mkdir(parents=True)
    assert [m.name for m in store.list_models() if m.source == "user"] == ["a"]


def test_builtin_specs_go_to_the_local_core_with_the_models_folder(_models_dir: Path) -> None:
    folder = fake_model(_models_dir / "mine")
    seen: dict[str, Any] = {}

    def fake_hf(spec: ModelSpec, **kwargs: Any) -> Any:
        seen.update(model=spec.model, **kwargs)
        return object()

    from llmagentos.llm import spec as specs

    real = specs._providers["hf"]
    register_provider("hf", fake_hf, replace=True)
    try:
        create_backend("builtin:mine?max_batch=4")
        # builtin models write the ReAct agent's JSON: guided tool replies unless turned off
        assert seen == {"model": str(folder), "max_batch": 4, "guided_tools": True}
        create_backend("builtin:mine?guided_tools=false")
        assert seen["guided_tools"] is False
    finally:
        register_provider("hf", real, replace=True)


def test_builtin_refuses_unknown_names_and_non_chat_models(_models_dir: Path) -> None:
    with pytest.raises(UnknownModel, match="no model named 'ghost'"):
        create_backend("builtin:ghost")
    fake_model(_models_dir / "sorter", kind="classifier")
    with pytest.raises(UnknownModel, match="classifier"):
        create_backend("builtin:sorter")


async def test_a_trained_model_answers_through_the_local_core(
    chat_base: Path, _models_dir: Path
) -> None:
    pytest.importorskip("llmagentos.llm.local")
    shutil.copytree(chat_base, _models_dir / "small")
    backend = create_backend("builtin:small")
    try:
        request = LLMRequest(messages=(Message(role="user", content="Say hi"),), max_tokens=4)
        response = await backend.complete(request)
    finally:
        await backend.aclose()
    assert response.usage.completion_tokens <= 4
    assert response.usage.prompt_tokens > 0
