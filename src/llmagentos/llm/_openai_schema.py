"""Pydantic models of the OpenAI-compatible wire format (the HTTP trust boundary).

Only the fields llmagentos reads or writes are declared; unknown fields are ignored so
servers that add their own (vLLM, Ollama, llama.cpp) still validate. The client builds
request bodies from these and validates responses with them; the loopback test server
does the reverse, so both sides share one description of the protocol.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict


class Wire(BaseModel):
    """Base: ignore unknown fields."""

    model_config = ConfigDict(extra="ignore")


def _json_text(value: Any) -> Any:
    # Some servers send tool arguments as an object instead of JSON text.
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


JsonText = Annotated[str, BeforeValidator(_json_text)]


class FunctionCall(Wire):
    name: str
    arguments: JsonText = "{}"


class ToolCall(Wire):
    id: str | None = None
    type: str = "function"
    function: FunctionCall


class TextPart(Wire):
    type: str = "text"
    text: str = ""


class ChatMessage(Wire):
    role: str = "assistant"
    content: str | list[TextPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    def text(self) -> str:
        """The content as one string (parts joined, None as empty)."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if p.type == "text")


class FunctionDef(Wire):
    name: str
    description: str = ""
    parameters: dict[str, Any] = {}


class ToolDef(Wire):
    type: str = "function"
    function: FunctionDef


class StreamOptions(Wire):
    include_usage: bool = False


class _Sampling(Wire):
    model: str = ""
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None

    def stop_list(self) -> tuple[str, ...]:
        if self.stop is None:
            return ()
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)


class ChatCompletionRequest(_Sampling):
    messages: list[ChatMessage]
    tools: list[ToolDef] | None = None
    response_format: dict[str, Any] | None = None
    max_completion_tokens: int | None = None
    logprobs: bool | None = None


class CompletionRequest(_Sampling):
    prompt: str | list[str]
    logprobs: int | None = None


class UsageInfo(Wire):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int | None = None


class LogprobEntry(Wire):
    token: str
    logprob: float


class ChoiceLogprobs(Wire):
    content: list[LogprobEntry] | None = None


class LegacyLogprobs(Wire):
    tokens: list[str] = []
    token_logprobs: list[float | None] = []


class ChatChoice(Wire):
    index: int = 0
    message: ChatMessage
    finish_reason: str | None = None
    logprobs: ChoiceLogprobs | None = None


class ChatCompletion(Wire):
    id: str = ""
    object: str = "chat.completion"
    created: int = 0
    model: str = ""
    choices: list[ChatChoice]
    usage: UsageInfo | None = None


class FunctionDelta(Wire):
    name: str | None = None
    arguments: JsonText | None = None


class ToolCallDelta(Wire):
    index: int | None = None
    id: str | None = None
    type: str | None = None
    function: FunctionDelta | None = None


class ChatDelta(Wire):
    role: str | None = None
    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class ChunkChoice(Wire):
    index: int = 0
    delta: ChatDelta = ChatDelta()
    text: str | None = None  # legacy /completions streams put text here instead of `delta`
    finish_reason: str | None = None
    logprobs: ChoiceLogprobs | LegacyLogprobs | None = None


class ChatCompletionChunk(Wire):
    id: str = ""
    object: str = "chat.completion.chunk"
    created: int = 0
    model: str = ""
    choices: list[ChunkChoice] = []
    usage: UsageInfo | None = None


class CompletionChoice(Wire):
    index: int = 0
    text: str = ""
    finish_reason: str | None = None
    logprobs: LegacyLogprobs | None = None


class Completion(Wire):
    id: str = ""
    object: str = "text_completion"
    created: int = 0
    model: str = ""
    choices: list[CompletionChoice]
    usage: UsageInfo | None = None


class ModelCard(Wire):
    id: str
    object: str = "model"
    owned_by: str = "llmagentos"


class ModelList(Wire):
    object: str = "list"
    data: list[ModelCard] = []


class ErrorDetail(Wire):
    message: str = ""
    type: str | None = None
    code: str | int | None = None
    param: str | None = None


class ErrorEnvelope(Wire):
    error: ErrorDetail
