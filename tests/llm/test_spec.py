"""Model spec parsing and the provider registry."""

from __future__ import annotations

from typing import Any

import pytest

from llmagentos import records
from llmagentos.errors import InvalidArgument, UnknownModel
from llmagentos.llm import LLMBackend, ModelSpec, create_backend, parse_model_spec
from llmagentos.llm.openai import OpenAIBackend
from llmagentos.llm.spec import register_provider, registered_providers
from llmagentos.testing import LatencyModel, NullModel, ScriptedModel


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("openai:gpt-4o-mini", ModelSpec("openai", "gpt-4o-mini")),
        (
            "openai:llama3@http://localhost:11434/v1",
            ModelSpec("openai", "llama3", "http://localhost:11434/v1"),
        ),
        ("openai:m@https://h.example/v1/", ModelSpec("openai", "m", "https://h.example/v1")),
        ("hf:/path/to/model", ModelSpec("hf", "/path/to/model")),
        ("hf:/home/me@host/model", ModelSpec("hf", "/home/me@host/model")),
        ("hf:Qwen/Qwen2.5-0.5B-Instruct", ModelSpec("hf", "Qwen/Qwen2.5-0.5B-Instruct")),
        ("builtin:tiny", ModelSpec("builtin", "tiny")),
        ("scripted", ModelSpec("scripted")),
        ("test", ModelSpec("test")),
        ("test:latency", ModelSpec("test", "latency")),
        (
            "openai:gpt-4o?max_concurrency=2&timeout_s=1.5&x=true&name=a",
            ModelSpec(
                "openai",
                "gpt-4o",
                options={"max_concurrency": 2, "timeout_s": 1.5, "x": True, "name": "a"},
            ),
        ),
        (" OpenAI:gpt-4o ", ModelSpec("openai", "gpt-4o")),
    ],
)
def test_parse(text: str, expected: ModelSpec) -> None:
    assert parse_model_spec(text) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("gpt-4o-mini", "no provider prefix"),
        ("openai:", "needs a model name"),
        ("Open AI:x", "lowercase name"),
        ("openai:llama3@localhost:11434", "must start with http"),
        ("openai:m?=1", "key=value"),
    ],
)
def test_bad_specs_explain_with_an_example(text: str, why: str) -> None:
    with pytest.raises(InvalidArgument, match=why) as info:
        parse_model_spec(text)
    assert "openai:gpt-4o-mini" in info.value.message


def test_spec_round_trips_through_str_and_codec() -> None:
    spec = parse_model_spec("openai:llama3@http://localhost:11434/v1?max_concurrency=2")
    assert parse_model_spec(str(spec)) == spec
    assert records.loads(records.dumps(spec)) == spec


async def test_create_openai_backend_with_overrides() -> None:
    backend = create_backend(
        "openai:llama3@http://localhost:11434/v1?max_concurrency=2", timeout_s=3
    )
    assert isinstance(backend, OpenAIBackend)
    assert backend.base_url == "http://localhost:11434/v1"
    assert backend.max_concurrency == 2 and backend.name == "openai:llama3"
    overridden = create_backend("openai:m?max_concurrency=2", max_concurrency=5)
    assert overridden.max_concurrency == 5
    await backend.aclose()
    await overridden.aclose()


def test_unknown_provider_and_bad_options() -> None:
    with pytest.raises(UnknownModel, match=r"registered: .*openai"):
        create_backend("nope:model")
    with pytest.raises(InvalidArgument, match="bad options"):
        create_backend("openai:m?colour=blue")


def test_test_doubles_from_specs() -> None:
    assert isinstance(create_backend("test"), NullModel)
    assert isinstance(create_backend("test:latency?ttft_s=0&output_tokens=2"), LatencyModel)
    scripted = create_backend("scripted", replies=["a", "b"])
    assert isinstance(scripted, ScriptedModel) and scripted.replies == ["a", "b"]
    assert isinstance(create_backend("scripted"), ScriptedModel)
    with pytest.raises(InvalidArgument, match="unknown test double"):
        create_backend("test:magic")


def test_register_provider_plugs_in_without_editing_spec() -> None:
    made: list[ModelSpec] = []

    def factory(spec: ModelSpec, **kw: Any) -> LLMBackend:
        made.append(spec)
        return NullModel(name=spec.model, **kw)

    register_provider("fake-core", factory)
    try:
        backend = create_backend("fake-core:abc?max_concurrency=3")
        assert backend.name == "abc" and backend.max_concurrency == 3
        assert made == [ModelSpec("fake-core", "abc", options={"max_concurrency": 3})]
        assert "fake-core" in registered_providers()
        with pytest.raises(InvalidArgument, match="already registered"):
            register_provider("fake-core", lambda spec, **kw: NullModel())
        with pytest.raises(InvalidArgument):
            register_provider("Bad Name", factory)
    finally:
        from llmagentos.llm import spec as spec_module

        spec_module._providers.pop("fake-core", None)
