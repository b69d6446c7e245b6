"""Guided output: character-level matchers that only let through text on its way to a
reply of a given shape: a JSON value a schema accepts, a tool call, or one of a few strings.

A local model decoding under a guide cannot write a tool call that does not parse: at each
step the core tries the model's candidate tokens in order of preference and keeps the first
whose text keeps the reply a prefix of a valid one (`llm.local.guided`). The matcher also
knows the shortest way to finish from where it stands (`GuideState.closing`), so a reply
that would run out of tokens mid-string is closed instead of cut off.

What a schema can say here (a subset of JSON Schema, enough for tool arguments): `type`
(one or a list of `string`, `integer`, `number`, `boolean`, `null`, `object`, `array`),
`enum` and `const`, `properties` with `required` (an object with `properties` takes only
those keys, each at most once), `items`, local `$ref`s (`#/$defs/...`; a recursive one is
unrolled three deep), `anyOf` / `oneOf` (read as anyOf; exact for `Optional[X]` and
literals, objects of several branches may take any branch's keys) and `allOf`. What
Pydantic writes for a model fits. Strings keep to `minLength`/`maxLength` (characters,
an escape counting as one), arrays to `minItems`/`maxItems`, integers to `minimum`/
`maximum` (and the exclusive forms): a digit is let through only if some integer in range
still starts that way. Not enforced: formats, patterns, the range of a non-integer number,
`additionalProperties` (an object with `properties` takes only those keys).

`tool_reply_guide(specs)` is the reply the ReAct agent asks for: `{"tool": <one of the
offered names>, "arguments": {...that tool's schema...}}` or `{"answer": "<text>"}`.
`choice_guide(options)` is plain text that is exactly one of `options` (a label, a sentence
of a text for an extractive summary). `response_guide(request.response_format)` reads the
shapes a request may ask for:

- `{"type": "json_schema", "json_schema": {"schema": {...}}}` (OpenAI's structured outputs);
- `{"type": "json_object"}`: any JSON object;
- `{"type": "choice", "choices": ["...", ...]}`: one of the strings, as plain text;
- `{"type": "picks", "choices": [...], "count": k}`: k lines, each beginning with a
  different one of the choices and going on with free text, or with one of the texts
  `"texts": {choice: [...]}` allows after that choice (`PicksGuide`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from llmagentos.errors import InvalidArgument
from llmagentos.llm.types import ToolSpec

_TYPES = ("string", "integer", "number", "boolean", "null", "object", "array")
_WS = " \t\n\r"
_MAX_WS = 16  # whitespace in a row between tokens; more is a model stuck on spaces
_HEX = set("0123456789abcdefABCDEF")
_ESCAPES = set('"\\/bfnrtu')


@dataclass(frozen=True, eq=False)
class Node:
    """A compiled schema: which values may stand here."""

    types: frozenset[str]
    enum: tuple[str, ...] | None = None  # the allowed values, as JSON texts
    """With `types` empty, the only values; with types (a union), values beside them."""
    props: Mapping[str, Node] | None = None  # None: any keys, any values
    required: tuple[str, ...] = ()
    items: Node | None = None
    lengths: tuple[int, int | None] = (0, None)  # a string's characters: at least, at most
    counts: tuple[int, int | None] = (0, None)  # an array's items: at least, at most
    span: tuple[int | None, int | None] = (None, None)  # an integer's least, greatest value
    keys: Callable[[Mapping[str, Any]], tuple[Mapping[str, Node], tuple[str, ...]]] | None = None
    """For objects whose allowed keys depend on the values already written (the tool reply)."""

    def fields(self, seen: Mapping[str, Any]) -> tuple[Mapping[str, Node] | None, tuple[str, ...]]:
        if self.keys is not None:
            return self.keys(seen)
        return self.props, self.required


ANY = Node(frozenset(_TYPES))


def compile_schema(schema: Any) -> Node:
    """The `Node` for a JSON schema (a dict; `True` or `{}` is anything)."""
    return _compile(schema, schema if isinstance(schema, Mapping) else {}, ())


_REF_DEPTH = 3  # a recursive $ref is unrolled this deep, then any value may stand there


def _compile(schema: Any, root: Mapping[str, Any], refs: tuple[str, ...]) -> Node:
    if schema is True or schema == {}:
        return ANY
    if not isinstance(schema, Mapping):
        raise InvalidArgument(f"a JSON schema must be an object, got {schema!r}")
    if "$ref" in schema:
        ref = schema["$ref"]
        if refs.count(ref) >= _REF_DEPTH:
            return ANY
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        target = _compile(_resolve(ref, root), root, (*refs, ref))
        return _intersect([target, _compile(rest, root, refs)]) if rest else target
    for word in ("anyOf", "oneOf", "allOf"):
        if word in schema:
            branches = schema[word]
            if not isinstance(branches, list | tuple) or not branches:
                raise InvalidArgument(f"{word!r} must be a non-empty list, got {branches!r}")
            nodes = [_compile(b, root, refs) for b in branches]
            rest = {k: v for k, v in schema.items() if k != word}
            # oneOf is read as anyOf: "exactly one" cannot be checked while writing
            node = _intersect(nodes) if word == "allOf" else _union(nodes)
            return _intersect([node, _compile(rest, root, refs)]) if rest else node
    if "const" in schema or "enum" in schema:
        values = [schema["const"]] if "const" in schema else schema["enum"]
        if not isinstance(values, list | tuple) or not values:
            raise InvalidArgument(f"'enum' must be a non-empty list, got {values!r}")
        texts = tuple(dict.fromkeys(json.dumps(v, ensure_ascii=False) for v in values))
        return Node(frozenset(), enum=texts)
    kind = schema.get("type")
    if kind is None:
        types = frozenset(_TYPES)
    else:
        kinds = [kind] if isinstance(kind, str) else list(kind)
        unknown = [k for k in kinds if k not in _TYPES]
        if unknown or not kinds:
            raise InvalidArgument(f"unknown JSON schema type {kind!r}; known: {', '.join(_TYPES)}")
        types = frozenset(kinds)
    props = None
    required: tuple[str, ...] = ()
    if "properties" in schema:
        raw = schema["properties"]
        if not isinstance(raw, Mapping):
            raise InvalidArgument(f"'properties' must be an object, got {raw!r}")
        props = {str(k): _compile(v, root, refs) for k, v in raw.items()}
        required = tuple(str(k) for k in schema.get("required", ()) if k in props)
    raw_items = schema.get("items")
    items = _compile(raw_items, root, refs) if isinstance(raw_items, Mapping) else None
    lengths = _bounds(schema, "minLength", "maxLength")
    counts = _bounds(schema, "minItems", "maxItems")
    span = _span(schema)
    return Node(
        types,
        props=props,
        required=required,
        items=items,
        lengths=lengths,
        counts=counts,
        span=span,
    )


def _span(schema: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """An integer's range from minimum / maximum / exclusiveMinimum / exclusiveMaximum."""
    found: dict[str, float] = {}
    for word in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        value = schema.get(word)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidArgument(f"{word!r} must be a number, got {value!r}")
        found[word] = value
    lows = [math.ceil(found["minimum"])] if "minimum" in found else []
    lows += [math.floor(found["exclusiveMinimum"]) + 1] if "exclusiveMinimum" in found else []
    highs = [math.floor(found["maximum"])] if "maximum" in found else []
    highs += [math.ceil(found["exclusiveMaximum"]) - 1] if "exclusiveMaximum" in found else []
    lo, hi = (max(lows) if lows else None), (min(highs) if highs else None)
    if lo is not None and hi is not None and lo > hi:
        raise InvalidArgument(f"no integer lies between {lo} and {hi}")
    return lo, hi


def _bounds(schema: Mapping[str, Any], low: str, high: str) -> tuple[int, int | None]:
    lo, hi = schema.get(low, 0), schema.get(high)
    for word, value in ((low, lo), (high, hi)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise InvalidArgument(f"{word!r} must be a non-negative integer, got {value!r}")
    if hi is not None and lo > hi:
        raise InvalidArgument(f"{low} {lo} is more than {high} {hi}: no value fits")
    return lo, hi


def _widest(bounds: Iterable[tuple[Any, int | None]]) -> tuple[Any, int | None]:
    """The bounds that admit what any of `bounds` admits (None: unbounded)."""
    pairs = list(bounds) or [(None, None)]
    los, his = [lo for lo, _ in pairs], [hi for _, hi in pairs]
    return (
        None if None in los else min(los),
        None if None in his else max(h for h in his if h is not None),
    )


def _narrowest(bounds: Iterable[tuple[Any, int | None]], what: str) -> tuple[Any, int | None]:
    """The bounds that admit only what all of `bounds` admit."""
    pairs = list(bounds)
    los = [lo for lo, _ in pairs if lo is not None]
    his = [hi for _, hi in pairs if hi is not None]
    lo, hi = (max(los) if los else None), (min(his) if his else None)
    if lo is not None and hi is not None and lo > hi:
        raise InvalidArgument(f"the schema's allOf branches allow no {what} in common")
    return lo, hi


def _resolve(ref: Any, root: Mapping[str, Any]) -> Any:
    """The schema a local `$ref` ("#/$defs/Name", "#/definitions/Name", "#") points at."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise InvalidArgument(f"only local $refs ('#/...') are supported, got {ref!r}")
    target: Any = root
    for part in filter(None, ref[1:].split("/")):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, Mapping) or part not in target:
            raise InvalidArgument(f"$ref {ref!r} points at nothing in the schema")
        target = target[part]
    return target


_LITERAL_TYPES = {"null": ("null",), "boolean": ("true", "false")}


def _as_literals(node: Node) -> tuple[str, ...] | None:
    """A node's values as JSON texts, when they are few (an enum, null, booleans)."""
    if node.enum is not None and not node.types:
        return node.enum
    if node.enum is None and node.types and node.types <= set(_LITERAL_TYPES):
        return tuple(t for kind in sorted(node.types) for t in _LITERAL_TYPES[kind])
    return None


def _literal_type(text: str) -> str:
    value = json.loads(text)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _union(nodes: list[Node]) -> Node:
    """Values any of `nodes` accepts. Exact for literals and for branches of different
    types (`Optional[X]`: X or null); objects of several branches take any branch's keys
    and require only what all of them require, so the union may accept more than the
    schema does (never less)."""
    literals = [_as_literals(n) for n in nodes]
    if all(lit is not None for lit in literals):
        return Node(
            frozenset(), enum=tuple(dict.fromkeys(t for lit in literals for t in lit or ()))
        )
    types: set[str] = set()
    for node in nodes:
        if node.enum is None or node.types:
            types |= node.types
    extra = [  # literals of types no typed branch takes: "auto" beside integers
        t for node in nodes if node.enum is not None for t in node.enum if not _typed(t, types)
    ]
    objects = [n for n in nodes if "object" in n.types or _has(n, "object")]
    arrays = [n for n in nodes if "array" in n.types]
    props: dict[str, Node] | None = None
    required: tuple[str, ...] = ()
    if objects and all(n.props is not None and n.keys is None for n in objects):
        props = {}
        for n in objects:
            for key, sub in (n.props or {}).items():
                props[key] = _union([props[key], sub]) if key in props else sub
        required = tuple(
            k for k in objects[0].required if all(k in n.required for n in objects[1:])
        )
    items = None
    if arrays and all(n.items is not None for n in arrays):
        items = _union([n.items for n in arrays if n.items is not None])
    enum = tuple(dict.fromkeys(extra)) or None
    strings = [n.lengths for n in nodes if "string" in n.types] or [(0, None)]
    lists = [n.counts for n in arrays] or [(0, None)]
    return Node(
        frozenset(types),
        enum=enum,
        props=props,
        required=required,
        items=items,
        lengths=_widest(strings),
        counts=_widest(lists),
        span=_widest(n.span for n in nodes if n.types & {"integer", "number"}),
    )


def _typed(text: str, types: set[str] | frozenset[str]) -> bool:
    kind = _literal_type(text)
    return kind in types or (kind == "integer" and "number" in types)


def _has(node: Node, kind: str) -> bool:
    return node.enum is not None and any(_literal_type(t) == kind for t in node.enum)


def _intersect(nodes: list[Node]) -> Node:
    """Values all of `nodes` accept (allOf, and a $ref with sibling keywords): literals
    filtered by the others' types, types intersected, objects taking every branch's
    properties and requirements."""
    enums = [n for n in nodes if n.enum is not None and not n.types]
    typed = [n for n in nodes if n.enum is None or n.types]
    types = frozenset(_TYPES)
    for n in typed:  # a union's literals count by their types (the result may take more)
        types &= n.types | {_literal_type(t) for t in n.enum or ()}
    if enums:
        allowed = [t for t in enums[0].enum or () if all(t in (e.enum or ()) for e in enums[1:])]
        kept = tuple(t for t in allowed if _typed(t, types) or not typed)
        if not kept:
            raise InvalidArgument("the schema's allOf branches accept no value in common")
        return Node(frozenset(), enum=kept)
    if not types:
        raise InvalidArgument("the schema's allOf branches accept no type in common")
    with_props = [n for n in typed if n.props is not None]
    props: dict[str, Node] | None = None
    required: list[str] = []
    if with_props:
        props = {}
        for n in with_props:
            for key, sub in (n.props or {}).items():
                props[key] = _intersect([props[key], sub]) if key in props else sub
            required += [k for k in n.required if k not in required]
    with_items = [n.items for n in typed if n.items is not None]
    items = _intersect(with_items) if with_items else None
    return Node(
        types,
        props=props,
        required=tuple(required),
        items=items,
        lengths=_narrowest((n.lengths for n in typed), "length"),
        counts=_narrowest((n.counts for n in typed), "item count"),
        span=_narrowest((n.span for n in typed), "integer"),
    )


class Progress(Protocol):
    """Where a guided reply stands (what the local core's token picker needs)."""

    @property
    def done(self) -> bool: ...

    @property
    def can_end(self) -> bool: ...

    def feed(self, text: str) -> Progress | None: ...

    def closing(self) -> str: ...


class Guide(Protocol):
    """A shape of reply: `start()` is the empty reply, `accepts` checks a whole one.
    `chars` are the non-ASCII characters its fixed texts hold (names, choices), which a
    token picker must be able to spell a byte at a time."""

    chars: frozenset[str]

    def start(self) -> Progress: ...

    def accepts(self, text: str) -> bool: ...


# -- the matcher ----------------------------------------------------------------------------
#
# A state is a stack of frames (tuples, never mutated), the innermost last:
#   ("root", done)                         the whole reply
#   ("val", node, ws)                      a value of `node` is due (after `ws` spaces)
#   ("lit", texts, prefix)                 one of `texts` (enum values, keys, true/false/null)
#   ("str", esc, n, lo, hi)                inside a string of n characters so far (lo to hi
#                                          allowed); esc: 0, 1 after '\', 2-5 in \uXXXX
#   ("num", text, integer, lo, hi)         a number so far (an integer in lo..hi if integer)
#   ("obj", node, phase, seen, key, ws)    phase: start | key | colon | value | after | next
#   ("arr", node, phase, ws, count)        phase: start | value | after; count items done
# A frame that finishes hands its value (known for literals, else None) to the one below.

Frame = tuple[Any, ...]
Stack = tuple[Frame, ...]


class GuideState:
    """Where a reply stands: `feed` text to move on (None if the text cannot be part of a
    valid reply), `done` once a whole value is written, `closing` the shortest way there."""

    __slots__ = ("stack",)

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    @property
    def done(self) -> bool:
        """A whole value is written and nothing may follow it."""
        return self.stack[-1] == ("root", True)

    @property
    def can_end(self) -> bool:
        """The text may end here: done, or a whole number or literal at the top level
        (which could also go on: `3` or `35`)."""
        if self.done:
            return True
        top = self.stack[-1]
        if len(self.stack) != 2 or top[0] not in ("num", "lit"):
            return False
        return _num_whole(top) if top[0] == "num" else top[2] in top[1]

    def feed(self, text: str) -> GuideState | None:
        stack = self.stack
        for ch in text:
            grown = _step(stack, ch)
            if grown is None:
                return None
            stack = grown
        return GuideState(stack)

    def closing(self) -> str:
        """The shortest text (near enough) that makes the reply whole from here."""
        return _closing(self.stack)


@functools.lru_cache(maxsize=8192)
def _closing(stack: Stack) -> str:
    out: list[str] = []
    for _ in range(10_000):
        if stack[-1] == ("root", True):
            return "".join(out)
        piece = _forced(stack)
        if piece:
            fed = GuideState(stack).feed(piece)
            assert fed is not None, (stack, piece)
            stack = fed.stack
            out.append(piece)
        else:  # a finished literal or number that only ends when its parent goes on
            ended = _finish(stack[:-1], _value(stack[-1]))
            assert ended is not None
            stack = ended
    raise AssertionError("closing did not converge")  # pragma: no cover


class JsonGuide:
    """A schema compiled for guided decoding; `start()` is the empty reply."""

    def __init__(self, node: Node, description: str = "", extra: Iterable[str] = ()) -> None:
        self.node = node
        self.description = description
        self.chars = _non_ascii([*_node_texts(node, set()), *extra])

    def __repr__(self) -> str:
        return f"JsonGuide({self.description or 'schema'})"

    def start(self) -> GuideState:
        return GuideState((("root", False), ("val", self.node, 0)))

    def accepts(self, text: str) -> bool:
        """Whether `text` is a whole reply this guide allows (surrounding spaces aside)."""
        state = self.start().feed(text.strip())
        return state is not None and state.can_end


class ChoiceState:
    """A prefix of one or more of the options."""

    __slots__ = ("guide", "prefix")

    def __init__(self, guide: ChoiceGuide, prefix: str) -> None:
        self.guide = guide
        self.prefix = prefix

    @property
    def can_end(self) -> bool:
        return self.prefix in self.guide.options

    @property
    def done(self) -> bool:
        return self.can_end and not any(
            o != self.prefix and o.startswith(self.prefix) for o in self.guide.options
        )

    def feed(self, text: str) -> ChoiceState | None:
        grown = self.prefix + text
        if any(o.startswith(grown) for o in self.guide.options):
            return ChoiceState(self.guide, grown)
        return None

    def closing(self) -> str:
        rests = [o[len(self.prefix) :] for o in self.guide.options if o.startswith(self.prefix)]
        return min(rests, key=len)


class ChoiceGuide:
    """Plain text that is exactly one of `options`."""

    def __init__(self, options: Iterable[str]) -> None:
        self.options = tuple(dict.fromkeys(options))
        if not self.options or not all(isinstance(o, str) and o for o in self.options):
            raise InvalidArgument("a choice needs at least one option, each a non-empty string")
        self.chars = _non_ascii(self.options)

    def __repr__(self) -> str:
        return f"ChoiceGuide({len(self.options)} options)"

    def start(self) -> ChoiceState:
        return ChoiceState(self, "")

    def accepts(self, text: str) -> bool:
        return text in self.options


class PicksState:
    """Lines so far: the choices they began with, and where the current line stands."""

    __slots__ = ("guide", "head", "picked", "tail")

    def __init__(
        self, guide: PicksGuide, picked: tuple[str, ...], head: str, tail: str | None
    ) -> None:
        self.guide = guide
        self.picked = picked  # choices that began lines, this line's included once chosen
        self.head = head  # the current line's choice so far (while `tail` is None)
        self.tail = tail  # the line's text after its choice

    def _left(self) -> list[str]:
        return [c for c in self.guide.choices if c not in self.picked]

    def _texts(self) -> tuple[str, ...] | None:
        """The texts allowed after this line's choice (None: any)."""
        return self.guide.texts.get(self.picked[-1]) if self.picked else None

    @property
    def _last_line(self) -> bool:
        return len(self.picked) >= self.guide.count or not self._left()

    def _line_whole(self) -> bool:
        texts = self._texts()
        return self.tail is not None and (texts is None or self.tail in texts)

    @property
    def can_end(self) -> bool:
        return self._last_line and self._line_whole()

    @property
    def done(self) -> bool:
        if not self.can_end or self.tail is None:
            return False
        texts = self._texts()
        if texts is None:
            return len(self.tail) == self.guide.max_chars
        return not any(t != self.tail and t.startswith(self.tail) for t in texts)

    def feed(self, text: str) -> PicksState | None:
        state: PicksState | None = self
        for ch in text:
            assert state is not None
            state = state._step(ch)
            if state is None:
                return None
        return state

    def _step(self, ch: str) -> PicksState | None:
        g = self.guide
        if self.tail is None:
            grown = self.head + ch
            left = self._left()
            if not any(c.startswith(grown) for c in left):
                if self.head in left:  # the choice is whole; `ch` begins the line's text
                    return PicksState(g, (*self.picked, self.head), "", "")._step(ch)
                return None
            if grown in left and not any(c != grown and c.startswith(grown) for c in left):
                return PicksState(g, (*self.picked, grown), "", "")
            return PicksState(g, self.picked, grown, None)
        if ch == "\n":
            if self._last_line or not self._line_whole():
                return None
            return PicksState(g, self.picked, "", None)
        grown = self.tail + ch
        texts = self._texts()
        if texts is None:
            if ord(ch) < 0x20 or len(grown) > g.max_chars:
                return None
        elif not any(t.startswith(grown) for t in texts):
            return None
        return PicksState(g, self.picked, "", grown)

    def closing(self) -> str:
        out: list[str] = []
        state: PicksState = self
        while not state.can_end:
            if state.tail is None:
                left = state._left()
                if state.head in left:
                    state = PicksState(state.guide, (*state.picked, state.head), "", "")
                    continue
                piece = min(
                    (c[len(state.head) :] for c in left if c.startswith(state.head)), key=len
                )
            elif not state._line_whole():
                tail = state.tail
                texts = state._texts() or ()
                piece = min((t[len(tail) :] for t in texts if t.startswith(tail)), key=len)
            else:
                piece = "\n"
            fed = state.feed(piece)
            assert fed is not None
            state = fed
            out.append(piece)
        return "".join(out)


class PicksGuide:
    """`count` lines, each beginning with a different one of `choices` and going on to the
    end of the line with free text (at most `max_chars` characters), or, for a choice that
    `texts` lists, with exactly one of its texts: "pick k of these and say why". Fewer
    lines only when the choices run out."""

    def __init__(
        self,
        choices: Iterable[str],
        count: int,
        max_chars: int = 200,
        texts: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.choices = tuple(dict.fromkeys(choices))
        if not self.choices or not all(
            isinstance(c, str) and c and "\n" not in c for c in self.choices
        ):
            raise InvalidArgument("picks need choices, each a non-empty string on one line")
        if not isinstance(count, int) or count < 1:
            raise InvalidArgument(f"picks need a count >= 1, got {count!r}")
        if not isinstance(max_chars, int) or max_chars < 0:
            raise InvalidArgument(f"max_chars must be an integer >= 0, got {max_chars!r}")
        self.count = count
        self.max_chars = max_chars
        self.texts: dict[str, tuple[str, ...]] = {}
        for choice, options in (texts or {}).items():
            listed = tuple(dict.fromkeys(options))
            if choice not in self.choices or not listed:
                raise InvalidArgument(f"texts for {choice!r}: not a choice, or no texts given")
            if not all(isinstance(t, str) and "\n" not in t for t in listed):
                raise InvalidArgument(f"texts for {choice!r} must be strings on one line")
            self.texts[choice] = listed
        self.chars = _non_ascii([*self.choices, *(t for ts in self.texts.values() for t in ts)])

    def __repr__(self) -> str:
        return f"PicksGuide({self.count} of {len(self.choices)})"

    def start(self) -> PicksState:
        return PicksState(self, (), "", None)

    def accepts(self, text: str) -> bool:
        state = self.start().feed(text)
        return state is not None and state.can_end


def choice_guide(options: Iterable[str]) -> ChoiceGuide:
    """A guide for text that is exactly one of `options`."""
    return ChoiceGuide(options)


def response_guide(response_format: Mapping[str, Any]) -> Guide:
    """The guide for a request's `response_format` (module docstring); anything else is an
    `InvalidArgument` that names the accepted forms."""
    kind = response_format.get("type") if isinstance(response_format, Mapping) else None
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        if not isinstance(spec, Mapping) or "schema" not in spec:
            raise InvalidArgument(
                'response_format json_schema needs {"json_schema": {"schema": {...}}}'
            )
        return schema_guide(spec["schema"])
    if kind == "json_object":
        return schema_guide({"type": "object"})
    if kind in ("choice", "picks"):
        choices = response_format.get("choices")
        if not isinstance(choices, list | tuple):
            raise InvalidArgument(f'response_format {kind} needs {{"choices": ["...", ...]}}')
        if kind == "choice":
            return choice_guide(choices)
        texts = response_format.get("texts")
        if texts is not None and not isinstance(texts, Mapping):
            raise InvalidArgument('picks "texts" must map a choice to the texts allowed after it')
        return PicksGuide(
            choices,
            response_format.get("count", 1),
            response_format.get("max_chars", 200),
            texts,
        )
    raise InvalidArgument(
        f"unknown response_format {response_format!r}; use type 'json_schema' (with"
        " json_schema.schema), 'json_object', 'choice' (with choices) or 'picks' (with"
        " choices and count)"
    )


def schema_guide(schema: Any) -> JsonGuide:
    """A guide for any JSON value `schema` accepts (the supported subset; module docstring)."""
    return JsonGuide(compile_schema(schema), "json schema")


def tool_reply_guide(tools: Iterable[ToolSpec]) -> JsonGuide:
    """`{"tool": <name>, "arguments": {...}}` for one of `tools`, or `{"answer": "..."}`."""
    specs = {t.name: t for t in tools}
    if not specs:
        raise InvalidArgument("a tool reply guide needs at least one tool")
    args = {name: _arguments_node(spec) for name, spec in specs.items()}
    names = Node(frozenset(), enum=tuple(json.dumps(n, ensure_ascii=False) for n in specs))
    text = Node(frozenset({"string"}))
    opening = {"tool": names, "answer": text}

    def keys(seen: Mapping[str, Any]) -> tuple[Mapping[str, Node], tuple[str, ...]]:
        if not seen:
            return opening, ()
        if "tool" in seen and "arguments" not in seen:
            return {"arguments": args[seen["tool"]]}, ("arguments",)
        return {}, ()

    root = Node(frozenset({"object"}), keys=keys)
    texts = [*specs, *(t for n in args.values() for t in _node_texts(n, set()))]
    return JsonGuide(root, "tool call or answer: " + ", ".join(specs), texts)


def _node_texts(node: Node, seen: set[int]) -> list[str]:
    """The fixed texts a compiled schema holds: enum values and property names."""
    if id(node) in seen:
        return []
    seen.add(id(node))
    out = list(node.enum or ())
    for key, child in (node.props or {}).items():
        out.append(key)
        out.extend(_node_texts(child, seen))
    if node.items is not None:
        out.extend(_node_texts(node.items, seen))
    return out


def _non_ascii(texts: Iterable[str]) -> frozenset[str]:
    return frozenset(ch for text in texts for ch in text if not ch.isascii())


def _arguments_node(spec: ToolSpec) -> Node:
    node = compile_schema(spec.parameters or {"type": "object", "properties": {}})
    if node.enum is not None or "object" not in node.types:
        raise InvalidArgument(f"tool {spec.name!r}: its arguments schema must be an object")
    return Node(frozenset({"object"}), props=node.props, required=node.required)


def _step(stack: Stack, ch: str) -> Stack | None:
    top = stack[-1]
    kind = top[0]
    rest = stack[:-1]
    if kind == "root":
        return None  # a finished reply takes nothing more
    if kind == "val":
        return _start_value(rest, top[1], top[2], ch)
    if kind == "lit":
        texts, prefix = top[1], top[2] + ch
        if any(t.startswith(prefix) for t in texts):
            if prefix in texts and not any(t != prefix and t.startswith(prefix) for t in texts):
                return _finish(rest, json.loads(prefix))  # nothing longer: it ends here
            return (*rest, ("lit", texts, prefix))
        if top[2] in texts:  # a finished literal, ended by what follows it
            done = _finish(rest, json.loads(top[2]))
            return None if done is None else _step(done, ch)
        return None
    if kind == "str":
        return _string(rest, top, ch)
    if kind == "num":
        _, text, integer, lo, hi = top
        grown = text + ch
        if _number_prefix(grown, integer) and (not integer or _int_reachable(grown, lo, hi)):
            return (*rest, ("num", grown, integer, lo, hi))
        if _num_whole(top):
            done = _finish(rest, None)
            return None if done is None else _step(done, ch)
        return None
    if kind == "obj":
        return _object(rest, top, ch)
    if kind == "arr":
        return _array(rest, top, ch)
    raise AssertionError(kind)  # pragma: no cover


def _start_value(rest: Stack, node: Node, ws: int, ch: str) -> Stack | None:
    if ch in _WS:
        return (*rest, ("val", node, ws + 1)) if ws < _MAX_WS else None
    if node.enum is not None:
        literal = _step((*rest, ("lit", node.enum, "")), ch)
        if not node.types:
            return literal
        typed = _start_value(rest, dataclasses.replace(node, enum=None), ws, ch)
        return typed if typed is not None else literal
    types = node.types
    if ch == '"' and "string" in types:
        return (*rest, ("str", 0, 0, *node.lengths))
    if ch == "{" and "object" in types:
        return (*rest, ("obj", node, "start", (), None, 0))
    if ch == "[" and "array" in types:
        return (*rest, ("arr", node, "start", 0, 0))
    if (ch == "-" or ch.isdigit()) and ch.isascii() and types & {"number", "integer"}:
        integer = "number" not in types
        lo, hi = node.span if integer else (None, None)
        if integer and not _int_reachable(ch, lo, hi):
            return None
        return (*rest, ("num", ch, integer, lo, hi))
    literals = tuple(
        text
        for text, kind in (("true", "boolean"), ("false", "boolean"), ("null", "null"))
        if kind in types and text[0] == ch
    )
    if literals:
        return (*rest, ("lit", literals, ch))
    return None


def _string(rest: Stack, top: Frame, ch: str) -> Stack | None:
    _, esc, n, lo, hi = top
    if esc == 0:
        if ch == '"':
            return _finish(rest, None) if n >= lo else None
        if (hi is not None and n >= hi) or ord(ch) < 0x20:
            return None
        return (*rest, ("str", 1 if ch == "\\" else 0, n + 1, lo, hi))
    if esc == 1:
        if ch not in _ESCAPES:
            return None
        return (*rest, ("str", 2 if ch == "u" else 0, n, lo, hi))
    if ch not in _HEX:
        return None
    return (*rest, ("str", 0 if esc == 5 else esc + 1, n, lo, hi))


def _object(rest: Stack, top: Frame, ch: str) -> Stack | None:
    _, node, phase, seen, key, ws = top
    seen_map = dict(seen)
    props, required = node.fields(seen_map)
    missing = [k for k in required if k not in seen_map]
    unseen = None if props is None else [k for k in props if k not in seen_map]
    if ch in _WS and phase in ("start", "colon", "after", "next"):
        return (*rest, (*top[:5], ws + 1)) if ws < _MAX_WS else None
    if phase in ("start", "next") and ch == '"':
        frame = ("obj", node, "key", seen, None, 0)
        if unseen is None:
            return (*rest, frame, ("str", 0, 0, 0, None))
        texts = tuple(json.dumps(k, ensure_ascii=False) for k in unseen)
        return _step((*rest, frame, ("lit", texts, "")), ch) if texts else None
    if ch == "}" and phase in ("start", "after") and not missing:
        if phase == "start" and not seen_map and node.keys is not None and unseen:
            return None  # the tool reply must say something
        return _finish(rest, None)
    if phase == "after" and ch == ",":
        if unseen is not None and not unseen:
            return None  # no key is left to write
        return (*rest, ("obj", node, "next", seen, None, 0))
    if phase == "colon" and ch == ":":
        value = ANY if props is None else props[key]
        return (*rest, ("obj", node, "value", seen, key, 0), ("val", value, 0))
    return None


def _array(rest: Stack, top: Frame, ch: str) -> Stack | None:
    _, node, phase, ws, count = top
    items = node.items or ANY
    lo, hi = node.counts
    if ch in _WS and phase in ("start", "after"):
        return (*rest, ("arr", node, phase, ws + 1, count)) if ws < _MAX_WS else None
    if ch == "]" and phase in ("start", "after"):
        return _finish(rest, None) if count >= lo else None
    if hi is not None and count >= hi:
        return None  # no room for another item
    if phase == "after" and ch == ",":
        return (*rest, ("arr", node, "value", 0, count), ("val", items, 0))
    if phase == "start":
        return _start_value((*rest, ("arr", node, "value", 0, count)), items, 0, ch)
    return None


def _finish(rest: Stack, value: Any) -> Stack | None:
    """The value on top of `rest` is complete: tell the frame below."""
    parent = rest[-1]
    below = rest[:-1]
    kind = parent[0]
    if kind == "root":
        return (*below, ("root", True))
    if kind == "arr":
        return (*below, ("arr", parent[1], "after", 0, parent[4] + 1))
    if kind == "obj":
        _, node, phase, seen, key, _ = parent
        if phase == "key":
            return (*below, ("obj", node, "colon", seen, value, 0))
        if phase == "value":
            return (*below, ("obj", node, "after", (*seen, (key, value)), None, 0))
    raise AssertionError(parent)  # pragma: no cover


def _value(frame: Frame) -> Any:
    return json.loads(frame[2]) if frame[0] == "lit" else None


def _number_prefix(text: str, integer: bool) -> bool:
    """Whether `text` can still grow into a JSON number (an integer if `integer`)."""
    i, n = 0, len(text)
    if i < n and text[i] == "-":
        i += 1
    if i == n:
        return True
    if not text[i].isascii() or not text[i].isdigit():
        return False
    if text[i] == "0":
        i += 1
    else:
        while i < n and text[i].isascii() and text[i].isdigit():
            i += 1
    if i == n:
        return True
    if integer:
        return False
    if text[i] == ".":
        i += 1
        start = i
        while i < n and text[i].isascii() and text[i].isdigit():
            i += 1
        if i == n:
            return True
        if i == start:
            return False
    if text[i] in "eE":
        i += 1
        if i < n and text[i] in "+-":
            i += 1
        while i < n and text[i].isascii() and text[i].isdigit():
            i += 1
        return i == n
    return False


def _number_whole(text: str, integer: bool) -> bool:
    return _number_prefix(text, integer) and text[-1].isdigit()


def _num_whole(frame: Frame) -> bool:
    """A number frame holds a whole number (an integer in its range)."""
    _, text, integer, lo, hi = frame
    if not _number_whole(text, integer):
        return False
    if not integer:
        return True
    value = int(text)
    return (lo is None or value >= lo) and (hi is None or value <= hi)


def _int_spans(text: str) -> Iterable[tuple[int, int]]:
    """The values integers written as `text` + more digits can take, a digit count at a
    time: [p, p], [10p, 10p + 9], [100p, 100p + 99], ... (negated for '-'; just 0 for 0)."""
    negative = text.startswith("-")
    digits = text[1:] if negative else text
    if not digits:  # "-": -1..-9, -10..-99, ...
        spans: Iterable[tuple[int, int]] = ((10**j, 10 ** (j + 1) - 1) for j in range(19))
    elif digits.startswith("0"):
        spans = [(0, 0)]
    else:
        p = int(digits)
        spans = ((p * 10**j, p * 10**j + 10**j - 1) for j in range(19))
    for a, b in spans:
        yield (-b, -a) if negative else (a, b)


def _int_reachable(text: str, lo: int | None, hi: int | None) -> bool:
    """Whether `text` (a prefix of a JSON integer) can still become one in lo..hi."""
    if lo is None and hi is None:
        return True
    return any((hi is None or a <= hi) and (lo is None or b >= lo) for a, b in _int_spans(text))


def _least_int(lo: int | None, hi: int | None) -> str:
    """The integer in lo..hi with the fewest characters (the one nearest zero)."""
    if lo is not None and lo > 0:
        return str(lo)
    if hi is not None and hi < 0:
        return str(hi)
    return "0"


def _int_rest(text: str, lo: int | None, hi: int | None) -> str:
    """The fewest digits that make `text` an integer in lo..hi."""
    for a, b in _int_spans(text):
        least, most = max(a, lo if lo is not None else a), min(b, hi if hi is not None else b)
        if least <= most:
            value = least if not text.startswith("-") else most  # fewest digits: near zero
            return str(value)[len(text) :]
    return "0"  # not reachable: the matcher never lets such a prefix through


def _forced(stack: Stack) -> str:
    """The next piece of the shortest completion ('' when the top only needs ending)."""
    top = stack[-1]
    kind = top[0]
    if kind == "val":
        return _smallest(top[1])
    if kind == "lit":
        texts: tuple[str, ...] = top[1]
        prefix: str = top[2]
        if prefix in texts:
            return ""
        rests = [t[len(prefix) :] for t in texts if t.startswith(prefix)]
        if len(rests) == 1:
            return rests[0]
        return min(rests, key=lambda rest: _closing_after(stack, rest))
    if kind == "str":
        _, esc, n, lo, _ = top
        if esc == 0:
            return '"' if n >= lo else "a" * (lo - n)
        return "n" if esc == 1 else "0"
    if kind == "num":
        if _num_whole(top):
            return ""
        return _int_rest(top[1], top[3], top[4]) if top[2] else "0"
    if kind == "arr":
        _, node, phase, _, count = top
        if count >= node.counts[0]:
            return "]"
        return _smallest(node.items or ANY) if phase == "start" else ","
    if kind == "obj":
        _, node, phase, seen, _, _ = top
        seen_map = dict(seen)
        props, required = node.fields(seen_map)
        missing = [k for k in required if k not in seen_map]
        must_say = not seen_map and node.keys is not None and bool(props)  # the tool reply
        if phase == "colon":
            return ":"
        if phase == "after":
            return "," if missing else "}"
        if phase == "start" and not missing and not must_say:
            return "}"
        if missing:
            return json.dumps(missing[0], ensure_ascii=False)
        options = [json.dumps(k, ensure_ascii=False) for k in (props or {}) if k not in seen_map]
        if not options:
            return '""'  # a free object: any key
        return min(options, key=lambda key: _closing_after(stack, key))
    raise AssertionError(top)  # pragma: no cover


def _closing_after(stack: Stack, key: str) -> int:
    """How long the shortest reply is if `key` is the key written next."""
    state = GuideState(stack).feed(key)
    return len(key) + len(state.closing()) if state is not None else 1 << 30


def _smallest(node: Node) -> str:
    if node.enum is not None:
        shortest = min(node.enum, key=len)
        if not node.types:
            return shortest
        typed = _smallest(dataclasses.replace(node, enum=None))
        return shortest if len(shortest) < len(typed) else typed
    for kind, text in (
        ("string", '""' if node.lengths[0] == 0 else '"'),
        ("integer", "0" if "number" in node.types else _least_int(*node.span)),
        ("number", "0"),
        ("boolean", "true"),
        ("null", "null"),
        ("array", "[]" if node.counts[0] == 0 else "["),
        ("object", "{"),
    ):
        if kind in node.types:
            return text
    raise AssertionError(node)  # pragma: no cover
