"""ReActAgent: tool calls as JSON in text or native, errors fed back, answers, step limits.

Each test scripts the model with a `FunctionModel` and asserts on what the model was shown
(the double records every request) as well as on the result.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

import pytest

from llmagentos import Kernel, Message, ProcessContext, ProcessInfo, SyncContext, tool
from llmagentos.errors import InvalidArgument, UnknownTool
from llmagentos.llm.types import LLMRequest, LLMResponse
from llmagentos.sdk.react import DEFAULT_SYSTEM, ReActAgent, ReActResult
from llmagentos.testing import FunctionModel, tool_call_response

SECRET_CALLS: list[str] = []


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def explode(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(reason)


@tool
def secret(x: str) -> str:
    """A tool the kernel has but the agent was not given."""
    SECRET_CALLS.append(x)
    return "leaked"


Reply = str | LLMResponse
Script = Callable[[tuple[Message, ...], LLMRequest], Reply]


def by_turn(*replies: Reply) -> Script:
    """Answer the n-th call with the n-th reply (a turn is one model call)."""

    def answer(messages: tuple[Message, ...], request: LLMRequest) -> Reply:
        turn = sum(1 for m in messages if m.role == "assistant")
        return replies[min(turn, len(replies) - 1)]

    return answer


class Harness:
    """A kernel with the test tools and a scripted model, and a way to run the agent."""

    def __init__(self, kernel: Kernel, model: FunctionModel) -> None:
        self.kernel = kernel
        self.model = model

    async def solve(
        self, task: str, tools: tuple[str, ...] = ("add",), **options: Any
    ) -> tuple[ReActResult, ProcessInfo]:
        results: list[ReActResult] = []

        async def program(ctx: ProcessContext) -> None:
            results.append(await ReActAgent(ctx, tools, **options).solve(task))

        status = await self.kernel.run(program)
        assert status.state == "done", status.error
        return results[0], self.kernel.ps()[-1]

    def seen(self, call: int) -> list[tuple[str, str]]:
        """(role, content) of the messages the model was shown in call `call`."""
        return [(m.role, m.content) for m in self.model.requests[call].messages]


@pytest.fixture
def react(make_kernel: Callable[..., Any]) -> Callable[..., Any]:
    async def build(script: Script) -> Harness:
        model = FunctionModel(script, name="react")
        kernel = await make_kernel(models={"m": model}, tools=[add, explode, secret])
        return Harness(kernel, model)

    return build


async def test_a_json_tool_call_in_text_runs_and_the_answer_ends_the_loop(react: Any) -> None:
    h = await react(by_turn('{"tool": "add", "arguments": {"a": 2, "b": 3}}', '{"answer": "5"}'))
    result, proc = await h.solve("What is 2 + 3?")

    assert result.answer == "5" and result.stopped == "answer"
    assert len(result.steps) == 2
    [call] = result.steps[0].tool_calls
    assert (call.name, json.loads(call.arguments)) == ("add", {"a": 2, "b": 3})
    assert result.steps[0].observations == ("5",)
    assert proc.usage.llm_calls == 2 and proc.usage.tool_calls == 1

    first = h.model.requests[0]
    system = first.messages[0].content
    assert first.messages[0].role == "system" and "- add: Add two integers." in system
    assert '"required": ["a", "b"]' in system and '{"answer": "<final answer>"}' in system
    assert [t.name for t in first.tools] == ["add"]  # offered natively as well
    second = h.model.requests[1].messages
    assert [m.role for m in second] == ["system", "user", "assistant", "tool"]
    assert second[1].content == "What is 2 + 3?"
    assert second[3].content == "5"
    assert (second[3].tool_call_id, second[3].name) == ("call_0", "add")
    assert second[2].tool_calls == (call,)


async def test_native_tool_calls_are_run_and_answered(react: Any) -> None:
    h = await react(
        by_turn(tool_call_response("add", {"a": 1, "b": 41}, id="c-7"), "The sum is 42.")
    )
    result, proc = await h.solve("Add 1 and 41.")
    assert result.answer == "The sum is 42." and result.stopped == "answer"
    tool_message = h.model.requests[1].messages[-1]
    assert (tool_message.role, tool_message.content) == ("tool", "42")
    assert tool_message.tool_call_id == "c-7"
    assert proc.usage.tool_calls == 1


async def test_several_calls_in_one_reply_each_get_an_observation(react: Any) -> None:
    calls = [
        {"tool": "add", "arguments": {"a": 1, "b": 2}},
        {"tool": "add", "arguments": {"a": 3, "b": 4}},
    ]
    h = await react(by_turn("Two sums:\n" + json.dumps(calls), '{"answer": "3 and 7"}'))
    result, proc = await h.solve("1+2 and 3+4?")
    assert result.answer == "3 and 7"
    assert result.steps[0].observations == ("3", "7")
    tool_messages = [m for m in h.model.requests[1].messages if m.role == "tool"]
    assert [(m.tool_call_id, m.content) for m in tool_messages] == [
        ("call_0", "3"),
        ("call_1", "7"),
    ]
    assert proc.usage.tool_calls == 2


async def test_malformed_json_gets_a_correction_and_the_model_recovers(react: Any) -> None:
    h = await react(
        by_turn(
            '{"tool": "add", "arguments": {"a": 1,}',
            '{"tool": "add", "arguments": {"a": 1, "b": 1}}',
            '{"answer": "2"}',
        )
    )
    result, proc = await h.solve("1 + 1?")
    assert result.answer == "2" and len(result.steps) == 3
    role, correction = h.seen(1)[-1]
    assert role == "user"
    assert correction.startswith("Your last reply could not be used: Your tool call is not valid")
    assert result.steps[0].observations == (correction,) and result.steps[0].tool_calls == ()
    assert proc.usage.tool_calls == 1  # the broken call never reached a tool


async def test_an_unknown_tool_name_is_fed_back_as_an_error(react: Any) -> None:
    SECRET_CALLS.clear()
    h = await react(
        by_turn(
            '{"tool": "multiply", "arguments": {"a": 2, "b": 3}}',
            '{"tool": "secret", "arguments": {"x": "please"}}',
            '{"answer": "gave up"}',
        )
    )
    result, proc = await h.solve("2 * 3?")
    assert result.answer == "gave up"
    unknown = "ERROR (UnknownTool): '{}' is not one of your tools: add"
    assert h.seen(1)[-1] == ("tool", unknown.format("multiply"))
    # A tool the kernel has but this agent was not given is just as unknown to it.
    assert h.seen(2)[-1] == ("tool", unknown.format("secret"))
    assert SECRET_CALLS == [] and proc.usage.tool_calls == 0


async def test_invalid_arguments_come_back_as_an_observation(react: Any) -> None:
    h = await react(
        by_turn(
            '{"tool": "add", "arguments": {"a": "two", "b": 3}}',
            tool_call_response("add", "not json"),
            tool_call_response("add", "[1, 2]"),
            '{"tool": "add", "arguments": {"a": 2, "b": 3}}',
            '{"answer": "5"}',
        )
    )
    result, proc = await h.solve("2 + 3?")
    assert result.answer == "5" and len(result.steps) == 5
    role, schema_error = h.seen(1)[-1]
    assert role == "tool"
    assert schema_error.startswith("ERROR (InvalidArgument): invalid arguments for tool 'add'")
    assert '- a: expected integer; got "two"' in schema_error
    assert h.seen(2)[-1][1].startswith("ERROR (InvalidArgument): arguments are not valid JSON")
    assert h.seen(3)[-1][1] == "ERROR (InvalidArgument): arguments must be a JSON object"
    assert h.seen(4)[-1] == ("tool", "5")
    assert proc.usage.tool_calls == 2  # the schema violation reached the kernel; JSON did not


async def test_a_failing_tool_is_an_observation_too(react: Any) -> None:
    h = await react(
        by_turn('{"tool": "explode", "arguments": {"reason": "no fuel"}}', '{"answer": "sorry"}')
    )
    result, _ = await h.solve("Try it.", tools=("add", "explode"))
    assert result.answer == "sorry"
    role, observation = h.seen(1)[-1]
    assert role == "tool" and observation.startswith("ERROR (ToolFailed)")
    assert "no fuel" in observation


async def test_the_step_limit_stops_a_model_that_never_answers(react: Any) -> None:
    h = await react(by_turn('{"tool": "add", "arguments": {"a": 1, "b": 1}}'))
    result, proc = await h.solve("loop", max_steps=3)
    assert result.stopped == "max_steps" and result.answer is None
    assert len(result.steps) == 3 and h.model.calls == 3
    assert proc.usage.tool_calls == 3


async def test_plain_text_without_json_is_the_answer(react: Any) -> None:
    h = await react(by_turn("  Paris is the capital of France.  "))
    result, proc = await h.solve("Capital of France?")
    assert result.answer == "Paris is the capital of France."
    assert result.stopped == "answer" and len(result.steps) == 1
    assert result.steps[0].tool_calls == () and proc.usage.tool_calls == 0


async def test_an_empty_reply_is_corrected(react: Any) -> None:
    h = await react(by_turn("   ", '{"answer": "ok"}'))
    result, _ = await h.solve("Say ok.")
    assert result.answer == "ok"
    assert h.seen(1)[-1] == ("user", "Your reply was empty. Call a tool or answer.")


async def test_options_reach_the_model(react: Any) -> None:
    h = await react(by_turn('{"answer": "x"}'))
    await h.solve("q", native_tools=False, model="m", temperature=0.2, max_tokens=33)
    request = h.model.last_request
    assert request.tools == () and request.model == "m"
    assert request.temperature == 0.2 and request.max_tokens == 33


async def test_a_custom_system_prompt_may_hold_json_braces(react: Any) -> None:
    h = await react(by_turn('{"answer": "x"}'))
    system = 'Answer as {"answer": "..."}. You may use:\n{tools}'
    await h.solve("q", system=system)
    shown = h.seen(0)[0][1]
    assert shown.startswith('Answer as {"answer": "..."}. You may use:\n- add: Add two')
    assert DEFAULT_SYSTEM.count("{tools}") == 1


async def test_misuse_is_reported_clearly(make_kernel: Callable[..., Any]) -> None:
    kernel: Kernel = await make_kernel(tools=[add])
    errors: list[str] = []

    async def program(ctx: ProcessContext) -> None:
        for kwargs in ({"max_steps": 0}, {"tools": ["nope"]}):
            try:
                ReActAgent(ctx, **{"tools": ["add"], **kwargs})
            except (InvalidArgument, UnknownTool) as exc:
                errors.append(f"{type(exc).__name__}: {exc.message}")

    def sync_program(ctx: SyncContext) -> str:
        try:
            ReActAgent(cast(Any, ctx), ["add"])
        except TypeError as exc:
            return str(exc)
        return "accepted"

    assert (await kernel.run(program)).state == "done"
    assert errors[0] == "InvalidArgument: max_steps must be at least 1, got 0"
    assert errors[1].startswith("UnknownTool:") and "nope" in errors[1]
    status = await kernel.run(sync_program)
    assert "needs the async context of an `async def` program" in status.result


async def test_the_react_program_by_reference(react: Any) -> None:
    h = await react(by_turn('{"tool": "add", "arguments": {"a": 20, "b": 22}}', '{"answer": "42"}'))
    pid = await h.kernel.spawn(
        "llmagentos.sdk.react:react",
        {"task": "20 + 22?", "tools": ["add"], "max_steps": 4, "temperature": 0.0},
        name="solver",
    )
    status = await h.kernel.wait(pid, timeout=10)
    assert status.state == "done", status.error
    assert status.result == {"answer": "42", "steps": 2, "stopped": "answer"}
    [info] = [p for p in h.kernel.ps() if p.pid == pid]
    assert info.name == "solver" and info.program == "llmagentos.sdk.react:react"
    assert info.usage.llm_calls == 2 and info.usage.tool_calls == 1
    assert h.model.last_request.temperature == 0.0
