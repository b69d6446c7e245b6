"""Argument schemas from signatures (snapshotted) and validation of JSON arguments."""

from __future__ import annotations

import dataclasses
import enum
from typing import Annotated, Any, Literal, Optional

import pytest
from pydantic import BaseModel, Field

from llmagentos.errors import InvalidArgument
from llmagentos.tools import Tool, ToolContext


class Unit(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


class Address(BaseModel):
    street: str
    zip: str | None = None


@dataclasses.dataclass
class Box:
    w: int
    h: int = 1


def scalars(s: str, i: int, f: float, b: bool) -> None: ...
def defaults(s: str = "x", i: int = 3, flag: bool = False) -> None: ...
def optionals(a: Optional[int] = None, b: int | None = None) -> None: ...  # noqa: UP045
def nullable_required(c: str | None) -> None: ...
def containers(tags: list[str], weights: dict[str, float], ids: list[int] = []) -> None: ...  # noqa: B006
def choices(mode: Literal["fast", "slow"], unit: Unit = Unit.C) -> None: ...
def models(address: Address, box: Box) -> None: ...
def nothing() -> None: ...
def untyped(x, y=2) -> None: ...  # type: ignore[no-untyped-def]
def injected(ctx: ToolContext, q: str, other: ToolContext | None = None) -> None: ...
def bounded(n: Annotated[int, Field(ge=0, le=10, description="0 to 10")] = 5) -> None: ...
def positional(a: int, /, b: int = 0) -> None: ...
def clash(json: str, model_config: int, copy: bool = True) -> None: ...


def _obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"additionalProperties": False, "properties": properties}
    if required:
        out["required"] = required
    out["type"] = "object"
    return out


NULLABLE_INT = {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None}
SNAPSHOTS: list[tuple[Any, dict[str, Any]]] = [
    (
        scalars,
        _obj(
            {
                "s": {"type": "string"},
                "i": {"type": "integer"},
                "f": {"type": "number"},
                "b": {"type": "boolean"},
            },
            ["s", "i", "f", "b"],
        ),
    ),
    (
        defaults,
        _obj(
            {
                "s": {"default": "x", "type": "string"},
                "i": {"default": 3, "type": "integer"},
                "flag": {"default": False, "type": "boolean"},
            }
        ),
    ),
    (optionals, _obj({"a": NULLABLE_INT, "b": NULLABLE_INT})),
    (
        nullable_required,
        _obj({"c": {"anyOf": [{"type": "string"}, {"type": "null"}]}}, ["c"]),
    ),
    (
        containers,
        _obj(
            {
                "tags": {"items": {"type": "string"}, "type": "array"},
                "weights": {"additionalProperties": {"type": "number"}, "type": "object"},
                "ids": {"default": [], "items": {"type": "integer"}, "type": "array"},
            },
            ["tags", "weights"],
        ),
    ),
    (
        choices,
        {
            "$defs": {"Unit": {"enum": ["celsius", "fahrenheit"], "type": "string"}},
            **_obj(
                {
                    "mode": {"enum": ["fast", "slow"], "type": "string"},
                    "unit": {"$ref": "#/$defs/Unit", "default": "celsius"},
                },
                ["mode"],
            ),
        },
    ),
    (
        models,
        {
            "$defs": {
                "Address": {
                    "properties": {
                        "street": {"type": "string"},
                        "zip": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
                    },
                    "required": ["street"],
                    "type": "object",
                },
                "Box": _obj(
                    {"w": {"type": "integer"}, "h": {"default": 1, "type": "integer"}}, ["w"]
                ),
            },
            **_obj(
                {"address": {"$ref": "#/$defs/Address"}, "box": {"$ref": "#/$defs/Box"}},
                ["address", "box"],
            ),
        },
    ),
    (nothing, _obj({})),
    (untyped, _obj({"x": {}, "y": {"default": 2}}, ["x"])),
    (injected, _obj({"q": {"type": "string"}}, ["q"])),
    (
        bounded,
        _obj(
            {
                "n": {
                    "default": 5,
                    "description": "0 to 10",
                    "maximum": 10,
                    "minimum": 0,
                    "type": "integer",
                }
            }
        ),
    ),
    (
        positional,
        _obj({"a": {"type": "integer"}, "b": {"default": 0, "type": "integer"}}, ["a"]),
    ),
    (
        clash,
        _obj(
            {
                "json": {"type": "string"},
                "model_config": {"type": "integer"},
                "copy": {"default": True, "type": "boolean"},
            },
            ["json", "model_config"],
        ),
    ),
]


@pytest.mark.parametrize(("fn", "expected"), SNAPSHOTS, ids=[fn.__name__ for fn, _ in SNAPSHOTS])
def test_schema_snapshot(fn: Any, expected: dict[str, Any]) -> None:
    assert Tool(fn).parameters == expected


def test_descriptions_come_from_docstring_unless_annotated() -> None:
    def f(a: int, b: Annotated[int, Field(description="from the hint")], c: int = 0) -> None:
        """Do f.

        Args:
            a: from the docstring.
            b: loses to the hint.
        """

    props = Tool(f).parameters["properties"]
    assert props["a"]["description"] == "from the docstring."
    assert props["b"]["description"] == "from the hint"
    assert "description" not in props["c"]


def test_var_args_are_refused() -> None:
    def f(*args: int) -> None: ...

    with pytest.raises(TypeError, match=r"\*args"):
        Tool(f)


def test_unresolvable_hint_is_reported() -> None:
    def f(x: NotDefinedAnywhere) -> None: ...  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(TypeError, match="cannot resolve the type hints of tool 'f'"):
        Tool(f)


# -- binding and validation ------------------------------------------------------------


def _bind(fn: Any, arguments: Any, ctx: ToolContext | None = None) -> Any:
    return Tool(fn).arguments.bind(arguments, tool=fn.__name__, context=ctx)


def test_bind_converts_to_python_values(ctx: ToolContext) -> None:
    args, kwargs = _bind(models, {"address": {"street": "Main"}, "box": {"w": "3"}})
    assert args == []
    assert kwargs == {"address": Address(street="Main"), "box": Box(w=3)}
    _, kwargs = _bind(choices, {"mode": "fast", "unit": "fahrenheit"})
    assert kwargs == {"mode": "fast", "unit": Unit.F}


def test_bind_leaves_defaults_to_the_function() -> None:
    _, kwargs = _bind(defaults, {"i": 4})
    assert kwargs == {"i": 4}


def test_bind_injects_context_and_positional_only(ctx: ToolContext) -> None:
    _, kwargs = _bind(injected, {"q": "x"}, ctx)
    assert kwargs == {"q": "x", "ctx": ctx, "other": ctx}
    assert _bind(positional, {"a": 1, "b": 2}) == ([1], {"b": 2})


def test_bind_names_every_bad_field() -> None:
    bad = {
        "address": {"zip": 1},
        "box": {"w": "wide", "depth": 2},
        "extra": True,
    }
    with pytest.raises(InvalidArgument) as info:
        _bind(models, bad)
    assert info.value.message == (
        "invalid arguments for tool 'models':\n"
        "- address.street: missing required field (expected string)\n"
        "- address.zip: expected string or null; got 1 (integer): Input should be a valid string\n"
        '- box.w: expected integer; got "wide" (string): Input should be a valid integer, '
        "unable to parse string as an integer\n"
        "- box.depth: unexpected field (accepted fields: w, h)\n"
        "- extra: unexpected argument (accepted arguments: address, box)"
    )
    assert [p["field"] for p in info.value.details["problems"]] == [
        "address.street",
        "address.zip",
        "box.w",
        "box.depth",
        "extra",
    ]


def test_bind_messages_for_enums_lists_and_missing() -> None:
    with pytest.raises(InvalidArgument) as info:
        _bind(choices, {"unit": "kelvin"})
    assert info.value.message == (
        "invalid arguments for tool 'choices':\n"
        '- mode: missing required argument (expected one of "fast", "slow")\n'
        '- unit: expected one of "celsius", "fahrenheit"; got "kelvin" (string): '
        "Input should be 'celsius' or 'fahrenheit'"
    )
    with pytest.raises(InvalidArgument, match=r"- tags\[1\]: expected string; got 2 \(integer\)"):
        _bind(containers, {"tags": ["a", 2], "weights": {}})


def test_bind_merges_union_branches() -> None:
    def pick(v: int | str) -> None: ...

    with pytest.raises(InvalidArgument) as info:
        _bind(pick, {"v": [1]})
    assert info.value.message == (
        "invalid arguments for tool 'pick':\n"
        "- v: expected integer or string; got [1] (array): Input should be a valid integer; "
        "Input should be a valid string"
    )


def test_bind_refuses_non_objects_and_shortens_long_inputs() -> None:
    with pytest.raises(InvalidArgument, match="must be a JSON object, got array"):
        _bind(scalars, [1, 2])
    with pytest.raises(InvalidArgument) as info:
        _bind(scalars, {"s": "x", "i": "x" * 500, "f": 1, "b": True})
    assert 'got "xxxxx' in info.value.message and "xxx... (string)" in info.value.message
    assert len(info.value.message) < 300
