"""App manifests: validated at the boundary, every mistake named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmagentos.apps import InvalidManifest, load_manifest, parse_manifest
from llmagentos.apps.store import BUNDLED_DIR

GOOD: dict[str, Any] = {
    "name": "hello",
    "version": "1.2.0",
    "entry": "hello.main:run",
    "model": "openai:gpt-4o-mini",
    "tools": ["hello.tools:TOOLS"],
    "capabilities": {"tools": ["greet"], "max_tokens": 100, "spawn": True},
    "policy": [{"effect": "ask", "kinds": ["tool"], "targets": ["greet"]}],
    "args": {"who": "world"},
}


def test_a_good_manifest_becomes_a_typed_record() -> None:
    m = parse_manifest(GOOD)
    assert (m.name, m.version, m.entry, m.tools) == (
        "hello",
        "1.2.0",
        "hello.main:run",
        ("hello.tools:TOOLS",),
    )
    assert m.capabilities.tools == ("greet",) and m.capabilities.max_tokens == 100
    assert m.capabilities.spawn is True
    assert m.capabilities.namespaces == ("app/hello", "app/hello/*")  # the default
    assert m.policy[0].effect == "ask" and m.policy[0].targets == ("greet",)
    assert m.args == {"who": "world"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "Hello World"}, "name: String should match pattern"),
        ({"version": "one"}, "version: String should match pattern"),
        ({"entry": "hello.main"}, "entry: String should match pattern"),
        ({"tools": ["not a reference"]}, "tools.0: String should match pattern"),
        ({"model": "gpt4"}, "model: Value error, bad model spec 'gpt4'"),
        ({"capabilities": {"tools": ["x"], "max_tokens": -1}}, "capabilities.max_tokens"),
        ({"capabilities": {"superpowers": True}}, "capabilities.superpowers: Extra inputs"),
        ({"colour": "blue"}, "colour: Extra inputs are not permitted"),
        ({"policy": [{"effect": "maybe"}]}, r"\[\[policy\]\]: rule 0, field 'effect'"),
        ({"policy": [{"effect": "ask", "kinds": ["teleport"]}]}, "unknown syscall kinds"),
    ],
)
def test_mistakes_are_named(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidManifest, match=message):
        parse_manifest({**GOOD, **change}, source="app.toml")


def test_required_fields_are_reported_together() -> None:
    with pytest.raises(InvalidManifest) as err:
        parse_manifest({"name": "x"})
    assert "version: Field required" in err.value.message
    assert "entry: Field required" in err.value.message


def test_files_that_are_missing_or_not_toml_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidManifest, match=r"no app\.toml"):
        load_manifest(tmp_path)
    (tmp_path / "app.toml").write_text("name = [unclosed")
    with pytest.raises(InvalidManifest, match="not TOML"):
        load_manifest(tmp_path)


def test_every_bundled_manifest_is_valid() -> None:
    names = {load_manifest(p).name for p in BUNDLED_DIR.iterdir() if (p / "app.toml").is_file()}
    assert names == {
        "customer_service",
        "summarizer",
        "maze_solver",
        "classify_translate",
        "sentiment_monitor",
        "recommender",
    }
