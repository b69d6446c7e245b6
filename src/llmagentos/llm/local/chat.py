"""From an `LLMRequest` to prompt token ids: the model's chat template, or a raw prompt."""

from __future__ import annotations

import json
from typing import Any

from llmagentos.errors import InvalidArgument
from llmagentos.llm.types import LLMRequest, Message, ToolSpec


def hf_messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """Messages in the shape transformers' chat templates expect."""
    out: list[dict[str, Any]] = []
    for m in messages:
        d: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.name:
            d["name"] = m.name
        if m.tool_calls:
            d["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": _arguments(c.arguments)},
                }
                for c in m.tool_calls
            ]
        if m.tool_call_id:
            d["tool_call_id"] = m.tool_call_id
        out.append(d)
    return out


def hf_tools(tools: tuple[ToolSpec, ...]) -> list[dict[str, Any]]:
    """Tool specs as JSON-schema function descriptions."""
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in tools
    ]


def _arguments(raw: str) -> Any:
    try:
        return json.loads(raw) if raw.strip() else {}
    except ValueError:
        return raw  # templates print what they get; a model's broken JSON stays visible


def _fallback(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> str:
    """A plain transcript for tokenizers that ship no chat template."""
    lines = []
    if tools:
        lines.append("system: You can call these tools: " + json.dumps(tools))
    for m in messages:
        text = m["content"]
        if m.get("tool_calls"):
            text += json.dumps(m["tool_calls"])
        lines.append(f"{m['role']}: {text}")
    lines.append("assistant:")
    return "\n".join(lines)


def render(tokenizer: Any, request: LLMRequest, *, check: bool = True) -> list[int]:
    """Prompt token ids for `request`; an empty or unrenderable prompt is `InvalidArgument`.

    `check=False` only counts: an empty prompt gives what the template adds around it.
    """
    if not request.messages:
        if check:
            raise InvalidArgument("a model call needs at least one message")
        return []
    if request.raw_prompt:
        text = request.messages[0].content
        if not text and check:
            raise InvalidArgument("the prompt is empty")
        ids: list[int] = tokenizer.encode(text) if text else []
        return ids
    if check and not any(m.content or m.tool_calls for m in request.messages):
        raise InvalidArgument("every message is empty: there is no prompt")
    messages = hf_messages(request.messages)
    tools = hf_tools(request.tools)
    if getattr(tokenizer, "chat_template", None):
        try:
            text = tokenizer.apply_chat_template(
                messages, tools=tools or None, add_generation_prompt=True, tokenize=False
            )
        except Exception as exc:  # jinja raises whatever the template author chose
            if check:
                why = f"the model's chat template refused the messages: {exc}"
                raise InvalidArgument(why) from exc
            return list(tokenizer.encode(_fallback(messages, tools)))  # a count, near enough
        ids = tokenizer.encode(text, add_special_tokens=False)
    else:
        ids = tokenizer.encode(_fallback(messages, tools))
    return ids
