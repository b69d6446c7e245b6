"""Policy: first match wins, defaults, and loading rules from TOML / JSON files."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmagentos.access import Decision, Policy, Rule
from llmagentos.errors import InvalidArgument, NotFound

RULES = [
    Rule("deny", kinds=("tool",), targets=("shell", "exec*"), reason="no shell"),
    Rule("ask", kinds=("storage",), targets=("shared*",), programs=("summarizer*",)),
    Rule("allow", kinds=("tool",), targets=("*",), reason="tools are fine"),
    Rule("deny", kinds=("*",), targets=("secret*",), reason="secrets"),
]


def test_first_match_wins() -> None:
    policy = Policy(RULES, default="deny")
    assert policy.decide("tool", "shell", "any") == Decision("deny", "no shell", 0)
    assert policy.decide("tool", "exec_py", "any").rule_index == 0
    # rule 2 allows every tool, so rule 3 never sees tool calls
    assert policy.decide("tool", "secret_tool", "any") == Decision("allow", "tools are fine", 2)
    assert policy.decide("memory", "secret_ns", "any").rule_index == 3


def test_programs_match_program_or_name() -> None:
    policy = Policy(RULES)
    assert policy.decide("storage", "shared-x", "summarizer:main").effect == "ask"
    assert policy.decide("storage", "shared-x", "apps:main", name="summarizer-2").effect == "ask"
    assert policy.decide("storage", "shared-x", "apps:main", name="writer").effect == "allow"


def test_default_applies_when_nothing_matches() -> None:
    assert Policy(RULES).decide("llm", "builtin:tiny", "p").effect == "allow"
    denied = Policy(RULES, default="deny").decide("llm", "builtin:tiny", "p")
    assert denied.effect == "deny" and denied.rule_index is None and "default" in denied.reason
    assert Policy().decide("clock", "", "p").allowed


def test_rule_without_reason_gets_one() -> None:
    decision = Policy([Rule("ask", kinds=("ipc",))]).decide("ipc", "7", "p")
    assert decision == Decision("ask", "rule 0 (ask)", 0)


GOOD_TOML = """
default = "deny"

[[rules]]
effect = "deny"
kinds = ["tool"]
targets = ["shell"]
reason = "no shell"

[[rules]]
effect = "allow"
kinds = "tool"          # one pattern may be written without a list
"""


def test_load_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(GOOD_TOML)
    policy = Policy.from_file(path)
    assert policy.default == "deny"
    assert policy.rules[0] == Rule("deny", ("tool",), ("shell",), ("*",), "no shell")
    assert policy.rules[1].kinds == ("tool",) and policy.rules[1].targets == ("*",)
    assert policy.decide("tool", "calc", "p").effect == "allow"
    assert policy.decide("llm", "m", "p").effect == "deny"


def test_load_json_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text('{"rules": [{"effect": "ask", "kinds": ["process"]}]}')
    assert Policy.from_file(path).decide("process", "pkg:main", "p").effect == "ask"


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ('[[rules]]\neffect = "maybe"', ["rule 0", "'effect'"]),
        (
            '[[rules]]\neffect = "deny"\n[[rules]]\neffect = "deny"\nkinds = ["tools"]',
            ["rule 1", "'kinds'", "unknown syscall kinds ['tools']"],
        ),
        ('[[rules]]\neffect = "deny"\ntarget = ["x"]', ["rule 0", "'target'", "Extra"]),
        ('[[rules]]\neffect = "deny"\ntargets = []', ["rule 0", "'targets'"]),
        ('[[rules]]\neffect = "deny"\nprograms = [""]', ["rule 0", "'programs'", "empty"]),
        ('[[rules]]\nkinds = ["tool"]', ["rule 0", "'effect'", "required"]),
        ('default = "sometimes"', ["field default"]),
        ("rules = 3", ["field rules"]),
        ("this is = not toml =", ["not TOML"]),
    ],
)
def test_bad_toml_names_rule_and_field(tmp_path: Path, text: str, fragments: list[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InvalidArgument) as info:
        Policy.from_file(path)
    assert "bad.toml" in info.value.message
    for fragment in fragments:
        assert fragment in info.value.message


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        Policy.from_file(tmp_path / "missing.toml")
    (tmp_path / "p.yaml").write_text("rules: []")
    with pytest.raises(InvalidArgument, match=r"\.toml or \.json"):
        Policy.from_file(tmp_path / "p.yaml")
    with pytest.raises(InvalidArgument, match="object"):
        Policy.from_json("[1, 2]")
    with pytest.raises(InvalidArgument, match="not JSON"):
        Policy.from_json("{")
