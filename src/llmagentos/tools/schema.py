"""Argument schemas for tools: built from a function's signature, used to validate calls.

`ArgumentSchema.from_function` turns type hints into a pydantic model (so anything
pydantic validates works: str, int, float, bool, list, dict, Optional, Literal, Enum,
pydantic models, dataclasses), its JSON schema into what the model sees, and validation
errors into one message that names each bad field, what it expected and what it got.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo

from llmagentos.errors import InvalidArgument
from llmagentos.tools.context import ToolContext

# Keys whose value is a mapping of names to schemas, or one schema, or a list of schemas;
# everything else in a schema ("default", "enum", ...) is data and is left alone.
_SCHEMA_MAPS = ("properties", "$defs", "patternProperties")
_SCHEMA_ONE = ("items", "additionalProperties", "not")
_SCHEMA_LIST = ("anyOf", "allOf", "oneOf", "prefixItems")
# Pydantic's names for "a key the schema does not have" (models and dataclasses differ).
_EXTRA = ("extra_forbidden", "unexpected_keyword_argument")
_JSON_TYPES = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    list: "array",
    dict: "object",
    type(None): "null",
}


@dataclasses.dataclass(frozen=True, slots=True)
class ArgumentSchema:
    """How to check a tool's JSON arguments and turn them into a Python call."""

    model: type[BaseModel]
    json_schema: dict[str, Any]
    context_params: tuple[str, ...]
    positional_only: tuple[inspect.Parameter, ...]

    @classmethod
    def from_function(
        cls, fn: Callable[..., Any], *, name: str, descriptions: Mapping[str, str]
    ) -> ArgumentSchema:
        """Build the schema of `fn`'s parameters; `descriptions` documents them."""
        signature = inspect.signature(fn)
        try:
            hints = typing.get_type_hints(_hint_source(fn), include_extras=True)
        except Exception as exc:  # NameError for a hint defined in a local scope, etc.
            raise TypeError(f"cannot resolve the type hints of tool {name!r}: {exc}") from exc
        fields: dict[str, Any] = {}
        context_params: list[str] = []
        positional_only: list[inspect.Parameter] = []
        for i, param in enumerate(signature.parameters.values()):
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(f"tool {name!r}: *args and **kwargs cannot be described")
            hint = hints.get(param.name, Any)
            if _is_context(hint):
                context_params.append(param.name)
                continue
            if param.kind is param.POSITIONAL_ONLY:
                positional_only.append(param)
            default = ... if param.default is param.empty else param.default
            # Fields get neutral names and the real one as alias, so arguments named like
            # BaseModel attributes ("json", "model_config") cannot clash with pydantic.
            # An explicit `Annotated[..., Field(description=...)]` beats the docstring.
            about = _annotated_description(hint) or descriptions.get(param.name)
            info = Field(default, alias=param.name, description=about)
            fields[f"f{i}"] = (hint, info)
        config = ConfigDict(extra="forbid")
        model = create_model(name, __config__=config, **fields)
        schema = _strip_titles(model.model_json_schema())
        return cls(model, schema, tuple(context_params), tuple(positional_only))

    def bind(
        self, arguments: Any, *, tool: str, context: ToolContext | None
    ) -> tuple[list[Any], dict[str, Any]]:
        """Validate JSON `arguments` into positional and keyword arguments for the call.

        Raises `InvalidArgument` naming every bad field. Arguments left out are not
        passed, so the function's own defaults apply.
        """
        if not isinstance(arguments, Mapping):
            got = _json_type(arguments)
            raise InvalidArgument(f"arguments to tool {tool!r} must be a JSON object, got {got}")
        try:
            validated = self.model.model_validate(dict(arguments))
        except ValidationError as exc:
            problems = _problems(exc, self.json_schema)
            lines = "\n".join(f"- {p['field']}: {p['text']}" for p in problems)
            raise InvalidArgument(
                f"invalid arguments for tool {tool!r}:\n{lines}", problems=problems
            ) from None
        kwargs = {
            typing.cast(str, self.model.model_fields[f].alias): getattr(validated, f)
            for f in validated.model_fields_set
        }
        for name in self.context_params:
            kwargs[name] = context
        args = [kwargs.pop(p.name, p.default) for p in self.positional_only]
        return args, kwargs


def _hint_source(fn: Any) -> Any:
    """Where the hints of a function, a `functools.partial` or a callable object live."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    return fn if inspect.isroutine(fn) else type(fn).__call__


def _annotated_description(hint: Any) -> str | None:
    if typing.get_origin(hint) is not typing.Annotated:
        return None
    found = [m.description for m in hint.__metadata__ if isinstance(m, FieldInfo)]
    return next((d for d in reversed(found) if d), None)


def _is_context(hint: Any) -> bool:
    if hint is ToolContext:
        return True
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return ToolContext in typing.get_args(hint)
    return False


def _strip_titles(node: Any) -> Any:
    """Drop pydantic's generated "title"s: they cost tokens and tell the model nothing."""
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            value = {k: _strip_titles(v) for k, v in value.items()}
        elif key in _SCHEMA_ONE:
            value = _strip_titles(value)
        elif key in _SCHEMA_LIST and isinstance(value, list):
            value = [_strip_titles(v) for v in value]
        out[key] = value
    return out


# -- validation messages ----------------------------------------------------------------


def _problems(exc: ValidationError, schema: dict[str, Any]) -> list[dict[str, str]]:
    """One entry per bad field (pydantic reports union branches separately; merge them)."""
    merged: dict[tuple[str, str], dict[str, str]] = {}
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        if err["type"] in _EXTRA:
            field, node = _format_loc(loc), None
            _, parent = _resolve(schema, loc[:-1])
        else:
            path, node = _resolve(schema, loc)
            field = _format_loc(path) or "(arguments)"
        expected = _describe(schema, node)
        if err["type"] == "missing":
            what = "argument" if len(loc) == 1 else "field"
            text = f"missing required {what} (expected {expected})"
        elif err["type"] in _EXTRA:
            what = "argument" if len(loc) == 1 else "field"
            accepted = ", ".join(_deref(schema, parent).get("properties", {})) or "none"
            text = f"unexpected {what} (accepted {what}s: {accepted})"
        else:
            text = f"expected {expected}; got {_show(err['input'])}: {err['msg']}"
        key = (field, err["type"] if err["type"] == "missing" or err["type"] in _EXTRA else "bad")
        if key in merged:
            merged[key]["text"] += f"; {err['msg']}"
        else:
            merged[key] = {"field": field, "expected": expected, "text": text}
    return list(merged.values())


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _deref(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return typing.cast(dict[str, Any], schema["$defs"][ref.removeprefix("#/$defs/")])
    return node


def _resolve(schema: dict[str, Any], loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], Any]:
    """Follow `loc` into the schema as far as it goes (pydantic adds union-branch tags)."""
    node: Any = schema
    for depth, part in enumerate(loc):
        found = None
        for option in [node, *node.get("anyOf", [])]:
            option = _deref(schema, option)
            if isinstance(part, int) and isinstance(option.get("items"), dict):
                found = option["items"]
            elif isinstance(part, str) and part in option.get("properties", {}):
                found = option["properties"][part]
            if found is not None:
                break
        if found is None:
            return loc[:depth], node
        node = found
    return loc, node


def _describe(schema: dict[str, Any], node: Any) -> str:
    """A short English name for what `node` accepts: "integer", "one of 'a', 'b'"."""
    if not isinstance(node, dict):
        return "nothing (no such argument)"
    ref = node.get("$ref")
    if isinstance(ref, str):
        target = _deref(schema, node)
        name = ref.rsplit("/", 1)[-1]
        return _describe(schema, target) if "enum" in target else f"{name} object"
    if "enum" in node:
        return "one of " + ", ".join(json.dumps(v) for v in node["enum"])
    if "const" in node:
        return json.dumps(node["const"])
    options = node.get("anyOf") or node.get("oneOf")
    if options:
        return " or ".join(_describe(schema, o) for o in options)
    kind = node.get("type")
    if kind == "array" and isinstance(node.get("items"), dict):
        return f"array of {_describe(schema, node['items'])}"
    if isinstance(kind, list):
        return " or ".join(kind)
    return str(kind) if kind else "any value"


def _json_type(value: Any) -> str:
    for py, name in _JSON_TYPES.items():
        if type(value) is py:
            return name
    return type(value).__name__


def _show(value: Any, limit: int = 60) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:
        text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{text} ({_json_type(value)})"
