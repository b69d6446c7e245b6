"""Tool calls and answers parsed from model text."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from llmagentos.errors import MalformedModelOutput
from llmagentos.llm.toolcalls import ParsedOutput, parse_model_output
from llmagentos.llm.types import ToolCallRequest


def args(call: ToolCallRequest) -> object:
    return json.loads(call.arguments)


@pytest.mark.parametrize(
    "text",
    [
        '{"tool": "search", "arguments": {"q": "cats"}}',
        '{"name": "search", "arguments": {"q": "cats"}}',
        '{"name": "search", "parameters": {"q": "cats"}}',
        json.dumps(
            {"type": "function", "function": {"name": "search", "arguments": '{"q": "cats"}'}}
        ),
        '{"action": "search", "action_input": {"q": "cats"}}',
        'I will look it up.\n```json\n{"tool": "search", "arguments": {"q": "cats"}}\n```',
        '<tool_call>\n{"name": "search", "arguments": {"q": "cats"}}\n</tool_call>',
        'Let me think... {"tool": "search", "arguments": {"q": "cats"}} and wait.',
        '{"tool_calls": [{"tool": "search", "arguments": {"q": "cats"}}]}',
    ],
)
def test_single_call_forms(text: str) -> None:
    out = parse_model_output(text)
    (call,) = out.tool_calls
    assert call.name == "search" and args(call) == {"q": "cats"}
    assert call.id == "call_0" and out.answer is None


def test_arrays_and_several_objects_give_several_calls() -> None:
    out = parse_model_output(
        '[{"tool": "a", "arguments": {}}, {"tool": "b", "arguments": {"x": 1}}]'
    )
    assert [(c.id, c.name, args(c)) for c in out.tool_calls] == [
        ("call_0", "a", {}),
        ("call_1", "b", {"x": 1}),
    ]
    two_tags = (
        '<tool_call>{"name": "a", "arguments": {}}</tool_call>\n'
        '<tool_call>{"name": "b", "arguments": {}}</tool_call>'
    )
    assert [c.name for c in parse_model_output(two_tags).tool_calls] == ["a", "b"]


def test_prose_around_calls_is_kept_as_text() -> None:
    out = parse_model_output('Thought: need data.\n```json\n{"tool": "s", "arguments": {}}\n```\n')
    assert out.text == "Thought: need data."
    tagged = parse_model_output('Sure.<tool_call>{"name": "s", "arguments": {}}</tool_call>')
    assert tagged.text == "Sure."


def test_missing_arguments_and_explicit_ids() -> None:
    (call,) = parse_model_output('{"tool": "now"}').tool_calls
    assert call.arguments == "{}"
    (call,) = parse_model_output('{"id": "x9", "tool": "now", "arguments": "{}"}').tool_calls
    assert call.id == "x9"


def test_react_form() -> None:
    text = 'Thought: I should search.\nAction: search\nAction Input: {"q": "cats"}\nObservation:'
    out = parse_model_output(text)
    assert out.tool_calls == (ToolCallRequest("call_0", "search", '{"q": "cats"}'),)
    assert out.text == "Thought: I should search."
    plain = parse_model_output("Action: `lookup`\nAction Input: Paris, France")
    assert plain.tool_calls[0].name == "lookup"
    assert args(plain.tool_calls[0]) == {"input": "Paris, France"}
    bare = parse_model_output("Action: list_files")
    assert bare.tool_calls[0].arguments == "{}"


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ('{"answer": "42"}', "42"),
        ('Done. {"answer": {"total": 3}}', '{"total": 3}'),
        ('{"action": "Final Answer", "action_input": "bye"}', "bye"),
        ("Thought: easy.\nFinal Answer: Paris is the capital.", "Paris is the capital."),
    ],
)
def test_final_answers(text: str, answer: str) -> None:
    out = parse_model_output(text)
    assert out.answer == answer and out.tool_calls == ()


def test_plain_text_and_ordinary_json_are_not_calls() -> None:
    assert parse_model_output("Hello! How can I help?") == ParsedOutput(
        text="Hello! How can I help?"
    )
    data = 'The record is {"name": "Bob", "age": 3} and [1, 2].'
    assert parse_model_output(data) == ParsedOutput(text=data)
    assert parse_model_output("use {braces} freely").tool_calls == ()


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ('{"tool": "search", "arguments": {"q": "cats"}', "not valid JSON"),
        ("{'tool': 'search', 'arguments': {}}", "double quotes"),
        ('<tool_call>{"name": "search", arguments: {}}</tool_call>', "not valid JSON"),
        ("<tool_call>I want to search</tool_call>", "does not contain"),
        ('{"tool": 5, "arguments": {}}', "name as a string"),
        ('{"tool": "search", "arguments": [1, 2]}', "must be a JSON object"),
        ('{"name": "search", "arguments": "7"}', "must be a JSON object"),
        ('[{"tool": "a"}, 3]', "not tool calls"),
        ('{"tool": "a"} then {"answer": "b"}', "both tool calls and a final answer"),
        ("Action: search\nAction Input: {q: cats}", "Action Input"),
        ("Action: search the web please", "exactly one tool name"),
        ("Action: search\nFinal Answer: done", "not both"),
    ],
)
def test_broken_attempts_raise_actionable_errors(text: str, hint: str) -> None:
    with pytest.raises(MalformedModelOutput, match=hint) as info:
        parse_model_output(text)
    # Every message tells the model what shape to write instead.
    assert any(k in info.value.message for k in ("Expected", "e.g.", "Write either"))


_json_ish = st.text(alphabet="{}[]\":,tolnameargsuwr \n<>/_`'0123456789aceix", max_size=80)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=300), _json_ish))
@example("[" * 5000)
@example('{"a":' * 3000)
@example("{" * 2000 + "}" * 2000)
@example('{"tool": "x", "arguments": ' + "[" * 4000)
@example("1" * 5000)
@example('{"answer": ' + "9" * 5000 + "}")
def test_never_raises_anything_but_malformed(text: str) -> None:
    try:
        out = parse_model_output(text)
    except MalformedModelOutput as exc:
        assert exc.message
        return
    for call in out.tool_calls:
        assert isinstance(json.loads(call.arguments), dict)
        assert call.name
