"""Records for talking to a model: messages, tool specs, requests, responses, stream chunks."""

from __future__ import annotations

from typing import Any, Literal

from llmagentos.records import record

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "cancelled", "error"]


@record
class ToolCallRequest:
    """A model's request to call a tool: `arguments` is the raw JSON text the model wrote."""

    id: str
    name: str
    arguments: str


@record
class Message:
    """One chat message."""

    role: Role
    content: str = ""
    name: str | None = None
    tool_calls: tuple[ToolCallRequest, ...] = ()
    tool_call_id: str | None = None


@record
class ToolSpec:
    """A tool offered to a model: name, description and JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@record
class TokenLogprob:
    """Log-probability of one generated token."""

    token: str
    logprob: float


@record
class Usage:
    """Tokens a call consumed."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@record
class LLMRequest:
    """What a backend is asked to do: chat over `messages` (a plain prompt is one user message)."""

    messages: tuple[Message, ...]
    model: str = ""
    tools: tuple[ToolSpec, ...] = ()
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    logprobs: bool = False
    seed: int | None = None
    raw_prompt: bool = False  # True: `messages[0].content` is a completion prompt, no chat template
    response_format: dict[str, Any] | None = None  # the reply's shape (`llm.guides`)


@record
class LLMResponse:
    """A backend's answer."""

    message: Message
    finish_reason: FinishReason = "stop"
    usage: Usage = Usage()
    model: str = ""
    logprobs: tuple[TokenLogprob, ...] | None = None

    @property
    def text(self) -> str:
        return self.message.content


@record
class StreamChunk:
    """A piece of a streamed answer; the last chunk carries `finish_reason` and `usage`."""

    delta: str
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    tool_calls: tuple[ToolCallRequest, ...] = ()
    logprobs: tuple[TokenLogprob, ...] | None = None
