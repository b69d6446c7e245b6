"""A ReAct-style tool-using agent: think, call tools, observe, answer.

The model may ask for tools natively (`tool_calls` on the message) or by writing JSON in
its text (`{"tool": ..., "arguments": {...}}`, parsed by `llm.toolcalls`). Every call is
validated; an unparsable answer, an unknown tool or bad arguments go back to the model as
an observation it can correct, never as an exception. The loop stops on a final answer or
at the step limit.
"""

from __future__ import annotations

import json
from typing import Any

from llmagentos.errors import InvalidArgument, MalformedModelOutput
from llmagentos.kernel.context import ProcessContext
from llmagentos.llm.toolcalls import ParsedOutput, parse_model_output
from llmagentos.llm.types import Message, ToolCallRequest, ToolSpec
from llmagentos.records import record

DEFAULT_SYSTEM = (
    "You are an agent that solves tasks with tools. To call a tool, reply with only JSON:"
    ' {"tool": "<name>", "arguments": {...}}. When you know the answer, reply with only'
    ' {"answer": "<final answer>"}. Tools:\n{tools}'
)
"""The default system prompt; `{tools}` becomes the list of tools and their schemas."""


@record
class Step:
    """One turn of the loop: what the model said and what the tools answered."""

    thought: str
    tool_calls: tuple[ToolCallRequest, ...] = ()
    observations: tuple[str, ...] = ()


@record
class ReActResult:
    """The outcome of `ReActAgent.solve`."""

    answer: str | None
    steps: tuple[Step, ...]
    stopped: str  # "answer" | "max_steps"


def describe_tools(specs: tuple[ToolSpec, ...]) -> str:
    return "\n".join(
        f"- {s.name}: {s.description} arguments schema: {json.dumps(s.parameters)}" for s in specs
    )


def _read(content: str) -> tuple[ParsedOutput | None, str | None]:
    """A reply parsed, and what the agent says back if it cannot use it."""
    try:
        parsed = parse_model_output(content)
    except MalformedModelOutput as exc:
        return None, f"Your last reply could not be used: {exc.message}"
    return parsed, None if content.strip() else "Your reply was empty. Call a tool or answer."


def correction(content: str) -> str | None:
    """What the agent says back to a reply it cannot use (a call that does not parse, or
    nothing at all); `None` when the reply is a call, an answer or plain text."""
    return _read(content)[1]


class ReActAgent:
    """Solves a task with a model and tools, as system calls of the process it runs in."""

    def __init__(
        self,
        ctx: ProcessContext,
        tools: list[str] | tuple[str, ...] = (),
        *,
        model: str | None = None,
        system: str | None = None,
        max_steps: int = 8,
        native_tools: bool = True,
        **llm_options: Any,
    ) -> None:
        if not isinstance(ctx, ProcessContext):
            raise TypeError(
                "ReActAgent needs the async context of an `async def` program; in a sync"
                f" program ({type(ctx).__name__}) call the model and tools directly"
            )
        if max_steps < 1:
            raise InvalidArgument(f"max_steps must be at least 1, got {max_steps}")
        self.ctx = ctx
        self.tools = tuple(tools)
        self.model = model
        self.max_steps = max_steps
        self.native_tools = native_tools
        self.llm_options = llm_options
        self._specs = tuple(ctx._kernel.tools.get(name).spec for name in self.tools)
        # Not str.format: a custom prompt may hold JSON examples, whose braces are not fields.
        template = system or DEFAULT_SYSTEM
        self.system = template.replace("{tools}", describe_tools(self._specs))

    async def solve(self, task: str) -> ReActResult:
        messages: list[Message] = [
            Message(role="system", content=self.system),
            Message(role="user", content=task),
        ]
        steps: list[Step] = []
        for _ in range(self.max_steps):
            response = await self.ctx.chat(
                messages,
                model=self.model,
                tools=self._specs if self.native_tools else (),
                **self.llm_options,
            )
            reply = response.message
            calls, answer, problem = self._interpret(reply)
            if answer is not None and not calls:
                steps.append(Step(thought=reply.content))
                return ReActResult(answer, tuple(steps), "answer")
            messages.append(Message(role="assistant", content=reply.content, tool_calls=calls))
            if problem is not None:
                messages.append(Message(role="user", content=problem))
                steps.append(Step(thought=reply.content, observations=(problem,)))
                continue
            observations = [await self._run(call) for call in calls]
            messages.extend(
                Message(role="tool", content=obs, tool_call_id=call.id, name=call.name)
                for call, obs in zip(calls, observations, strict=True)
            )
            steps.append(Step(reply.content, calls, tuple(observations)))
        return ReActResult(None, tuple(steps), "max_steps")

    def _interpret(
        self, reply: Message
    ) -> tuple[tuple[ToolCallRequest, ...], str | None, str | None]:
        """(tool calls, final answer, a correction to send back if the output was unusable)."""
        if reply.tool_calls:
            return reply.tool_calls, None, None
        parsed, problem = _read(reply.content)
        if parsed is None or problem is not None:
            return (), None, problem
        if parsed.tool_calls or parsed.answer is not None:
            return parsed.tool_calls, parsed.answer, None
        return (), reply.content.strip(), None

    async def _run(self, call: ToolCallRequest) -> str:
        if call.name not in self.tools:
            return (
                f"ERROR (UnknownTool): {call.name!r} is not one of your tools:"
                f" {', '.join(self.tools)}"
            )
        try:
            arguments = json.loads(call.arguments or "{}")
        except json.JSONDecodeError as exc:
            return f"ERROR (InvalidArgument): arguments are not valid JSON: {exc}"
        if not isinstance(arguments, dict):
            return "ERROR (InvalidArgument): arguments must be a JSON object"
        result = await self.ctx.call_tool(call.name, arguments)
        return result.as_observation()


async def react(ctx: ProcessContext, task: str, tools: list[str], **options: Any) -> dict[str, Any]:
    """A ready program: `kernel.spawn("llmagentos.sdk.react:react", {...})`."""
    result = await ReActAgent(ctx, tools, **options).solve(task)
    return {"answer": result.answer, "steps": len(result.steps), "stopped": result.stopped}
