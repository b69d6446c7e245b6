"""`Example`: one generated conversation and what each assistant turn should say."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

Msg = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Target:
    """What an assistant turn must contain, for scoring a model's reply to the turns before it.

    - `tool` / `arguments`: the call expected (ReAct JSON);
    - `fact`: a string the answer must contain (a retrieved fact, a tool's result);
    - `label`: the class a classification answer must name;
    - `move`: a maze move; `good_moves` are all moves that count as right.
    """

    kind: str
    react: bool
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    fact: str | None = None
    label: str | None = None
    good_moves: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Example:
    """A conversation in the Hugging Face chat format; `targets[i]` scores assistant turn i."""

    task: str
    messages: tuple[Msg, ...]
    targets: tuple[Target, ...]
    tools: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    def turns(self) -> list[tuple[list[Msg], Msg, Target]]:
        """`(prompt messages, assistant message, target)` for each assistant turn."""
        out: list[tuple[list[Msg], Msg, Target]] = []
        targets = iter(self.targets)
        for i, message in enumerate(self.messages):
            if message["role"] == "assistant":
                out.append((list(self.messages[:i]), message, next(targets)))
        return out

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task, "messages": list(self.messages), "tools": list(self.tools)}


def call_text(tool: str, arguments: dict[str, Any]) -> str:
    """A ReAct tool call as the model writes it."""
    return json.dumps({"tool": tool, "arguments": arguments}, ensure_ascii=False)


def answer_text(answer: str, react: bool) -> str:
    """A final answer: ReAct JSON under the agent's system prompt, plain text otherwise."""
    return json.dumps({"answer": answer}, ensure_ascii=False) if react else answer


def observation(value: Any) -> str:
    """A tool result as `ToolResult.as_observation` renders it."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
