"""Capabilities: derivation rules, pattern inclusion, and child ⊆ parent as a property."""

from __future__ import annotations

import fnmatch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmagentos.access import BUDGET_FIELDS, PATTERN_FIELDS, ROOT, allows, covers, derive
from llmagentos.errors import InvalidArgument, PermissionDenied
from llmagentos.kernel.syscalls import Capabilities

PARENT = Capabilities(
    tools=("search", "calc", "web.*"),
    namespaces=("shared", "team-*"),
    peers=("*",),
    topics=("news.*",),
    models=("builtin:*",),
    spawn=True,
    max_tokens=1000,
    max_tool_calls=10,
    max_wall_s=60.0,
    max_syscalls=None,
)


def test_none_inherits_everything() -> None:
    assert derive(PARENT, None) == PARENT
    assert derive(PARENT, Capabilities()) == PARENT


def test_root_allows_everything_with_no_budgets() -> None:
    for field in PATTERN_FIELDS:
        assert allows(ROOT, field, "anything at all")
    assert allows(ROOT, "spawn", "pkg:main")
    assert all(getattr(ROOT, f) is None for f in BUDGET_FIELDS)
    assert derive(ROOT, Capabilities(tools=("x",))).namespaces == ("*",)


def test_narrower_request_is_granted() -> None:
    child = derive(
        PARENT,
        Capabilities(tools=("calc", "web.fetch", "web.*"), namespaces=("team-a*",), max_tokens=10),
    )
    assert child.tools == ("calc", "web.fetch", "web.*")
    assert child.namespaces == ("team-a*",)
    assert child.topics == PARENT.topics
    assert child.max_tokens == 10
    assert child.max_tool_calls == 10


def test_wider_pattern_is_refused_naming_field_and_excess() -> None:
    with pytest.raises(PermissionDenied) as info:
        derive(PARENT, Capabilities(tools=("calc", "shell", "web*")))
    err = info.value
    assert "tools" in err.message and "'shell'" in err.message and "'web*'" in err.message
    assert err.details["field"] == "tools"
    assert err.details["excess"] == ["shell", "web*"]


def test_larger_budget_is_refused_naming_field_and_excess() -> None:
    with pytest.raises(PermissionDenied) as info:
        derive(PARENT, Capabilities(max_tokens=1500))
    assert "max_tokens=1500" in info.value.message and "by 500" in info.value.message
    assert info.value.details == {"field": "max_tokens", "requested": 1500, "allowed": 1000}
    # no parent budget: any child budget is fine
    assert derive(PARENT, Capabilities(max_syscalls=5)).max_syscalls == 5


def test_negative_budget_is_invalid() -> None:
    with pytest.raises(InvalidArgument):
        derive(PARENT, Capabilities(max_tool_calls=-1))


def test_spawn_cannot_be_granted_by_a_parent_without_it() -> None:
    parent = derive(ROOT, Capabilities(spawn=False))
    with pytest.raises(PermissionDenied, match="spawn"):
        derive(parent, Capabilities(spawn=True))
    assert derive(parent, Capabilities()).spawn is False
    assert derive(PARENT, Capabilities(spawn=False)).spawn is False


def test_bare_string_instead_of_tuple_is_invalid() -> None:
    with pytest.raises(InvalidArgument, match="tuple"):
        derive(PARENT, Capabilities(tools="calc"))  # type: ignore[arg-type]


def test_empty_allow_list_allows_nothing() -> None:
    caps = derive(PARENT, Capabilities(tools=()))
    assert not allows(caps, "tools", "calc")


@pytest.mark.parametrize(
    ("parent", "child", "expected"),
    [
        ("*", "anything*", True),
        ("**", "a?[bc]", True),
        ("abc", "abc", True),
        ("a*", "abc", True),
        ("a*", "ab*", True),
        ("a*", "a?c", True),
        ("*.py", "src/*.py", True),
        ("a?c", "a[bd]c", True),
        ("a[bc]d", "abd", True),
        ("a[bc]d", "a[bc]d", True),
        ("a[bc]d", "a?d", False),
        ("[ab]*", "?*", False),
        ("[!a]a*", "aa*", False),
        ("[ab]x*", "[ab]x?", True),
        ("a?c", "a*c", False),
        ("ab*", "a*", False),
        ("abc", "ab?", False),
        ("web.*", "web*", False),
        ("*?", "?*", False),  # a true inclusion the conservative check refuses
        ("[", "[", True),  # unterminated "[" is a literal
    ],
)
def test_covers(parent: str, child: str, expected: bool) -> None:
    assert covers(parent, child) is expected


# -- properties -------------------------------------------------------------------------

ALPHABET = "abc.["
TOKENS = ["a", "b", "c", ".", "?", "*", "[ab]", "[!a]", "[a-b]"]


@st.composite
def globs(draw: st.DrawFn) -> list[str]:
    return draw(st.lists(st.sampled_from(TOKENS), max_size=5))


@st.composite
def instance_of(draw: st.DrawFn, tokens: list[str]) -> str:
    """A string the glob made of `tokens` matches."""
    out = []
    for tok in tokens:
        if tok == "*":
            out.append(draw(st.text(ALPHABET, max_size=3)))
        elif tok == "?":
            out.append(draw(st.sampled_from(ALPHABET)))
        elif tok.startswith("["):
            out.append(draw(st.sampled_from([c for c in ALPHABET if fnmatch.fnmatchcase(c, tok)])))
        else:
            out.append(tok)
    return "".join(out)


@st.composite
def widened(draw: st.DrawFn, tokens: list[str]) -> list[str]:
    """A glob that matches everything `tokens` matches: single tokens become `?`, runs `*`."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        move = draw(st.sampled_from(["keep", "keep", "any", "star"]))
        if move == "star":
            run = draw(st.integers(min_value=0, max_value=len(tokens) - i))
            out.append("*")
            i += run
            continue
        tok = tokens[i]
        out.append("?" if move == "any" and tok != "*" else tok)
        i += 1
    if draw(st.booleans()):
        out.append("*")
    return out


@settings(max_examples=200, deadline=None)
@given(child=globs(), data=st.data())
def test_covers_accepts_widened_globs(child: list[str], data: st.DataObject) -> None:
    parent = data.draw(widened(child))
    assert covers("".join(parent), "".join(child))


@settings(max_examples=300, deadline=None)
@given(child=globs(), other=globs(), data=st.data())
def test_covers_is_sound(child: list[str], other: list[str], data: st.DataObject) -> None:
    # near misses matter most: widen the child, then maybe change one token at random
    parent = data.draw(widened(child))
    for _ in range(data.draw(st.integers(min_value=0, max_value=2)) if parent else 0):
        i = data.draw(st.integers(min_value=0, max_value=len(parent) - 1))
        parent[i] = data.draw(st.sampled_from(TOKENS))
    parent = data.draw(st.sampled_from([parent, parent, parent, other]))
    p, c = "".join(parent), "".join(child)
    if not covers(p, c):
        return
    for _ in range(5):
        word = data.draw(instance_of(child))
        assert fnmatch.fnmatchcase(word, c)
        assert fnmatch.fnmatchcase(word, p), (p, c, word)


def pattern_lists() -> st.SearchStrategy[tuple[str, ...] | None]:
    return st.none() | st.lists(globs().map("".join), max_size=3).map(tuple)


budgets = st.none() | st.integers(min_value=0, max_value=20)

capabilities = st.builds(
    Capabilities,
    tools=pattern_lists(),
    namespaces=pattern_lists(),
    peers=pattern_lists(),
    topics=pattern_lists(),
    models=pattern_lists(),
    spawn=st.none() | st.booleans(),
    max_tokens=budgets,
    max_tool_calls=budgets,
    max_wall_s=st.none() | st.floats(min_value=0, max_value=20),
    max_syscalls=budgets,
)


@settings(max_examples=200, deadline=None)
@given(
    parent=capabilities,
    child=capabilities,
    targets=st.lists(st.text(ALPHABET + "*?]", max_size=5), min_size=1, max_size=10),
)
def test_derived_child_never_exceeds_parent(
    parent: Capabilities, child: Capabilities, targets: list[str]
) -> None:
    try:
        derived = derive(parent, child)
    except PermissionDenied:
        return
    for field in (*PATTERN_FIELDS, "spawn"):
        for target in targets:
            if allows(derived, field, target):
                assert allows(parent, field, target), (field, target)
    for field in BUDGET_FIELDS:
        limit, got = getattr(parent, field), getattr(derived, field)
        if limit is not None:
            assert got is not None and got <= limit
