"""The guided-JSON matcher: what it lets through, what it refuses, and how it closes."""

from __future__ import annotations

import json

import pytest

from llmagentos.errors import InvalidArgument
from llmagentos.llm import ToolSpec
from llmagentos.llm.guides import choice_guide, response_guide, schema_guide, tool_reply_guide
from llmagentos.llm.toolcalls import parse_model_output

TOOLS = (
    ToolSpec(
        "get_weather",
        "Weather in a city.",
        {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    ),
    ToolSpec(
        "send_message",
        "Message someone.",
        {
            "type": "object",
            "properties": {"to": {"type": "string"}, "text": {"type": "string"}},
            "required": ["to", "text"],
        },
    ),
    ToolSpec(
        "move",
        "Move in the maze.",
        {
            "type": "object",
            "properties": {
                "action": {"type": "string", "enum": ["up", "down", "left", "right"]},
                "steps": {"type": "integer"},
                "speed": {"type": ["number", "null"]},
                "flags": {"type": "array", "items": {"type": "boolean"}},
                "extra": {"type": "object"},
            },
            "required": ["action"],
        },
    ),
)
GOOD = (
    '{"tool": "get_weather", "arguments": {"city": "Oslo"}}',
    '{"answer": "it is \\"fine\\" \\u00e9 \\n ok"}',
    '{"tool":"move","arguments":{"action":"up","steps":-12,"speed":1.5e3,"flags":[true,false]}}',
    '{"tool": "move", "arguments": {"speed": null, "action": "left", "extra": {"a": [1, {}]}}}',
    '{\n  "tool": "send_message",\n  "arguments": {"text": "hi", "to": "Ann"}\n}',
    '{"tool": "move", "arguments": {"action": "down", "steps": 0, "flags": []}}',
)
BAD = (
    '{"tool": "get_weather", "arguments": {"city": "Oslo"}',  # cut off
    '{"tool": "nope", "arguments": {}}',  # not an offered tool
    "{}",  # says nothing
    '{"tool": "get_weather", "arguments": {}}',  # required argument missing
    '{"tool": "get_weather", "arguments": {"city": "a", "city": "b"}}',  # key twice
    '{"tool": "get_weather", "arguments": {"town": "a"}}',  # unknown argument
    '{"answer": "x", "tool": "move"}',
    '{"arguments": {}, "tool": "move"}',  # the tool comes first
    '{"tool": "move", "arguments": {"action": "up", "steps": 1.5}}',  # not an integer
    '{"tool": "move", "arguments": {"action": "upward"}}',  # not in the enum
    '{"tool": "move", "arguments": {"action": "up", "steps": 01}}',  # leading zero
    '{"tool": "send_message", "arguments": {"to": "Deepak answer": "Deepak answer": "x"}}',
    '{"answer": "a\nb"}',  # a raw newline inside a string
    '{"answer": "\\q"}',  # not an escape
    '{"answer": 3}',
    '{"answer": "x"} trailing',
    "Sure! " + GOOD[0],
)


def test_valid_replies_pass_and_parse_as_the_agent_reads_them() -> None:
    guide = tool_reply_guide(TOOLS)
    for text in GOOD:
        assert guide.accepts(text), text
        parsed = parse_model_output(text)
        assert parsed.answer is not None or len(parsed.tool_calls) == 1


@pytest.mark.parametrize("text", BAD)
def test_invalid_replies_are_refused(text: str) -> None:
    assert not tool_reply_guide(TOOLS).accepts(text)


def test_every_prefix_of_a_valid_reply_closes_into_a_valid_reply() -> None:
    guide = tool_reply_guide(TOOLS)
    for text in GOOD:
        for cut in range(len(text) + 1):
            state = guide.start().feed(text[:cut])
            assert state is not None, (text, cut)
            whole = text[:cut] + state.closing()
            assert guide.accepts(whole), whole
            json.loads(whole)
    cut_off = guide.start().feed('{"tool": "send_message", "arguments": {"to": "Vera is back')
    assert cut_off is not None
    assert json.loads(
        '{"tool": "send_message", "arguments": {"to": "Vera is back' + cut_off.closing()
    ) == {
        "tool": "send_message",
        "arguments": {"to": "Vera is back", "text": ""},
    }


def test_a_finished_reply_takes_nothing_more() -> None:
    state = tool_reply_guide(TOOLS).start().feed(GOOD[0])
    assert state is not None and state.done and state.closing() == ""
    assert state.feed(" ") is None and state.feed("}") is None


def test_whitespace_runs_are_bounded() -> None:
    guide = tool_reply_guide(TOOLS)
    assert guide.start().feed("{" + " " * 16) is not None
    assert guide.start().feed("{" + " " * 17) is None


def test_schema_guides_beyond_tool_replies() -> None:
    numbers = schema_guide({"type": "array", "items": {"enum": [1, 10, "a"]}})
    assert numbers.accepts('[1, 10, "a"]') and numbers.accepts("[10,1]")
    assert not numbers.accepts("[2]") and not numbers.accepts("[100]")
    anything = schema_guide({})
    for text in ('{"a": [1, -2.5e-3, true, null, "x"]}', "3", '"s"', "[]"):
        assert anything.accepts(text), text
    for text in ("{a: 1}", "[1,]", "tru", "-", "1.", '{"a" 1}'):
        assert not anything.accepts(text), text
    person = schema_guide(
        {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}}
    )
    assert person.accepts('{"age": 3}') and person.accepts("{}")
    assert not person.accepts('{"age": "3"}')


def test_pydantic_schemas_are_guided_whole() -> None:
    """What Pydantic writes for a model: `$defs` and `$ref`s, `anyOf` for Optional fields,
    enums for Literal ones, a recursive model."""
    from typing import Literal

    import pydantic

    class Address(pydantic.BaseModel):
        city: str
        zip: str | None = None

    class Node(pydantic.BaseModel):
        name: str
        children: list[Node] = []

    class Person(pydantic.BaseModel):
        name: str
        age: int | None
        role: Literal["admin", "user"] | None = None
        home: Address
        past: list[Address] = []
        tree: Node | None = None

    schema = Person.model_json_schema()
    assert "$defs" in schema and any("anyOf" in p for p in schema["properties"].values())
    guide = schema_guide(schema)
    good = (
        '{"name": "Ann", "age": null, "home": {"city": "Oslo"}}',
        '{"name": "Bo", "age": 7, "role": "admin", "home": {"city": "Rome", "zip": null},'
        ' "past": [{"city": "Pisa", "zip": "56100"}], "role": null}'.replace(', "role": null', ""),
        '{"name": "C", "age": 1, "home": {"city": "x"}, "tree": {"name": "a", "children":'
        ' [{"name": "b", "children": [{"name": "c"}]}]}}',
    )
    for text in good:
        assert guide.accepts(text), text
        Person.model_validate_json(text)
        for cut in range(len(text) + 1):
            state = guide.start().feed(text[:cut])
            assert state is not None, (text, cut)
            Person.model_validate_json(text[:cut] + state.closing())  # closes into a valid one
    for text in (
        '{"name": "Ann", "age": "7", "home": {"city": "Oslo"}}',  # age: int or null
        '{"name": "Ann", "age": 1, "role": "boss", "home": {"city": "Oslo"}}',  # not a role
        '{"name": "Ann", "age": 1, "home": {"zip": "0150"}}',  # home without its city
        '{"name": "Ann", "age": 1}',  # home is required
        '{"name": "Ann", "age": 1, "home": {"city": "O"}, "past": [{"town": "x"}]}',
    ):
        assert not guide.accepts(text), text


def test_any_of_all_of_and_refs() -> None:
    either = schema_guide({"anyOf": [{"type": "integer"}, {"enum": ["auto"]}]})
    assert either.accepts("12") and either.accepts('"auto"')
    assert not either.accepts('"manual"') and not either.accepts("1.5")
    for text in ("12", '"auto"', "-3"):
        for cut in range(len(text) + 1):
            state = either.start().feed(text[:cut])
            assert state is not None and either.accepts(text[:cut] + state.closing())
    flags = schema_guide({"oneOf": [{"const": "on"}, {"type": "boolean"}, {"type": "null"}]})
    assert all(flags.accepts(t) for t in ('"on"', "true", "false", "null"))
    assert not flags.accepts('"off"')
    both = schema_guide(
        {
            "allOf": [
                {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
                {"type": "object", "properties": {"b": {"type": "string"}}, "required": ["b"]},
            ]
        }
    )
    assert both.accepts('{"a": 1, "b": "x"}') and not both.accepts('{"a": 1}')
    narrowed = schema_guide({"allOf": [{"enum": [1, "a", None]}, {"type": "integer"}]})
    assert narrowed.accepts("1") and not narrowed.accepts('"a"')
    linked = schema_guide(
        {
            "$defs": {"L": {"type": "object", "properties": {"next": {"$ref": "#/$defs/L"}}}},
            "$ref": "#/$defs/L",
        }
    )
    assert linked.accepts('{"next": {"next": {}}}')
    assert not linked.accepts('{"nxt": {}}')
    with pytest.raises(InvalidArgument, match="points at nothing"):
        schema_guide({"$ref": "#/$defs/Missing"})
    with pytest.raises(InvalidArgument, match="only local"):
        schema_guide({"$ref": "https://example.com/schema.json"})
    with pytest.raises(InvalidArgument, match="no value in common"):
        schema_guide({"allOf": [{"enum": ["a"]}, {"type": "integer"}]})
    with pytest.raises(InvalidArgument, match="no type in common"):
        schema_guide({"allOf": [{"type": "string"}, {"type": "integer"}]})
    with pytest.raises(InvalidArgument, match="non-empty list"):
        schema_guide({"anyOf": []})


def test_string_lengths_and_item_counts_hold() -> None:
    code = schema_guide({"type": "string", "minLength": 2, "maxLength": 4})
    assert code.accepts('"ab"') and code.accepts('"abcd"') and code.accepts('"a\\n"')
    for text in ('""', '"a"', '"abcde"', '"\\u00e9bcde"'):
        assert not code.accepts(text), text
    state = code.start().feed('"')
    assert state is not None and state.closing() == 'aa"'  # the shortest that fits
    assert code.start().feed('"abcd') is not None and code.start().feed('"abcde') is None
    pair = schema_guide(
        {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 3}
    )
    assert pair.accepts("[1, 2]") and pair.accepts("[1,2,3]")
    for text in ("[]", "[1]", "[1,2,3,4]"):
        assert not pair.accepts(text), text
    for text in ("[1, 2]", "[1,2,3]"):
        for cut in range(len(text) + 1):
            state = pair.start().feed(text[:cut])
            assert state is not None and pair.accepts(text[:cut] + state.closing())
    assert json.loads("[" + pair.start().feed("[").closing()) == [0, 0]  # type: ignore[union-attr]
    none = schema_guide({"type": "array", "maxItems": 0})
    assert none.accepts("[]") and not none.accepts("[1]")
    for bad in ({"maxLength": -1}, {"minItems": "2"}, {"minLength": 3, "maxLength": 2}):
        with pytest.raises(InvalidArgument):
            schema_guide({"type": "string", **bad})
    short = schema_guide({"anyOf": [{"type": "string", "maxLength": 2}, {"type": "null"}]})
    assert short.accepts('"ab"') and short.accepts("null") and not short.accepts('"abc"')


def test_integers_keep_to_their_range() -> None:
    rating = schema_guide({"type": "integer", "minimum": 1, "maximum": 5})
    assert all(rating.accepts(str(n)) for n in range(1, 6))
    assert not any(rating.accepts(t) for t in ("0", "6", "10", "-1", "15"))
    teens = schema_guide({"type": "integer", "exclusiveMinimum": 9.5, "exclusiveMaximum": 21})
    assert teens.start().feed("1") is not None and teens.start().feed("3") is None
    assert teens.start().feed("21") is None and teens.accepts("20") and not teens.accepts("9")
    assert teens.start().feed("1").closing() == "0"  # type: ignore[union-attr]
    below = schema_guide({"type": "integer", "minimum": -500, "maximum": -20})
    assert below.start().feed("0") is None and below.start().feed("-1") is not None
    assert below.start().feed("-").closing() == "20"  # type: ignore[union-attr]
    assert below.accepts("-500") and not below.accepts("-501") and not below.accepts("-19")
    for guide, texts in ((rating, ["3"]), (teens, ["17", "20"]), (below, ["-42", "-500"])):
        for text in texts:
            for cut in range(len(text) + 1):
                state = guide.start().feed(text[:cut])
                assert state is not None, (text, cut)
                assert guide.accepts(text[:cut] + state.closing()), (text, cut)
    # Pydantic's ge/le, and a range on a float that is not enforced
    import pydantic

    class Review(pydantic.BaseModel):
        stars: int = pydantic.Field(ge=1, le=5)
        score: float = pydantic.Field(ge=0, le=1)

    review = schema_guide(Review.model_json_schema())
    assert review.accepts('{"stars": 4, "score": 0.5}')
    assert not review.accepts('{"stars": 7, "score": 0.5}')
    for bad in ({"minimum": "1"}, {"minimum": 5, "maximum": 4}, {"exclusiveMaximum": True}):
        with pytest.raises(InvalidArgument):
            schema_guide({"type": "integer", **bad})


def test_bad_schemas_and_tools_are_typed_errors() -> None:
    with pytest.raises(InvalidArgument, match="unknown JSON schema type"):
        schema_guide({"type": "integr"})
    with pytest.raises(InvalidArgument, match="enum"):
        schema_guide({"enum": []})
    with pytest.raises(InvalidArgument, match="must be an object"):
        schema_guide([1, 2])
    with pytest.raises(InvalidArgument, match="at least one tool"):
        tool_reply_guide(())
    with pytest.raises(InvalidArgument, match="must be an object"):
        tool_reply_guide([ToolSpec("f", "", {"type": "string"})])


def test_a_choice_is_exactly_one_of_its_options() -> None:
    guide = choice_guide(["yes", "yes please", "no"])
    for text in ("yes", "yes please", "no"):
        assert guide.accepts(text)
    for text in ("ye", "yes pl", "nope", "", "No"):
        assert not guide.accepts(text)
    state = guide.start().feed("yes")
    assert state is not None and state.can_end and not state.done  # "yes please" may follow
    assert state.closing() == ""
    longer = state.feed(" p")
    assert longer is not None and longer.closing() == "lease" and not longer.can_end
    assert guide.start().feed("n") is not None and guide.start().feed("x") is None
    whole = guide.start().feed("no")
    assert whole is not None and whole.done


def test_response_formats_and_their_errors() -> None:
    assert response_guide({"type": "choice", "choices": ["a", "b"]}).accepts("b")
    assert response_guide({"type": "json_object"}).accepts('{"k": [1]}')
    assert not response_guide({"type": "json_object"}).accepts("[1]")
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    assert response_guide(fmt).accepts('{"n": 2}') and not response_guide(fmt).accepts("{}")
    for bad in (
        {"type": "xml"},
        {"type": "choice"},
        {"type": "choice", "choices": []},
        {"type": "choice", "choices": ["a", ""]},
        {"type": "json_schema"},
        {"type": "json_schema", "json_schema": {"name": "x"}},
        {},
    ):
        with pytest.raises(InvalidArgument):
            response_guide(bad)


def test_picks_are_lines_that_each_begin_with_a_different_choice() -> None:
    guide = response_guide(
        {"type": "picks", "choices": ["dune:", "dune-2:", "cosmos:"], "count": 2, "max_chars": 20}
    )
    assert guide.accepts("dune: sand\ncosmos: stars")
    assert guide.accepts("dune-2: more sand\ndune: sand")
    for bad in (
        "dune: sand",  # one line short
        "dune: a\ndune: b",  # the same choice twice
        "dune: a\ncosmos: b\ndune-2: c",  # a line too many
        "dunes: a\ncosmos: b",  # not a choice
        "dune: " + "x" * 20 + "\ncosmos: b",  # a line too long
    ):
        assert not guide.accepts(bad), bad
    for prefix in ("", "d", "dune", "dune: so", "dune: so\n", "dune: so\nc"):
        state = guide.start().feed(prefix)
        assert state is not None and guide.accepts(prefix + state.closing()), prefix
    one = response_guide({"type": "picks", "choices": ["a:"], "count": 3})
    assert one.accepts("a: only one there is")  # fewer lines only when the choices run out


def test_picks_can_fix_the_text_each_choice_may_take() -> None:
    fmt = {
        "type": "picks",
        "choices": ["dune:", "cosmos:"],
        "count": 2,
        "texts": {"dune:": [" sf like X.", " sf like Y."]},
    }
    guide = response_guide(fmt)
    assert guide.accepts("dune: sf like X.\ncosmos: anything at all")
    assert guide.accepts("cosmos: a\ndune: sf like Y.")
    assert not guide.accepts("dune: sf like Z.\ncosmos: a")
    assert not guide.accepts("cosmos: a\ndune: sf like")
    state = guide.start().feed("dune: sf")
    assert state is not None and state.closing() == " like X.\ncosmos:"
    for bad in (
        {**fmt, "count": 0},
        {**fmt, "texts": {"nope:": ["x"]}},
        {**fmt, "texts": {"dune:": []}},
        {**fmt, "texts": {"dune:": ["two\nlines"]}},
        {**fmt, "texts": ["x"]},
        {"type": "picks", "choices": ["a\nb:"]},
    ):
        with pytest.raises(InvalidArgument):
            response_guide(bad)
