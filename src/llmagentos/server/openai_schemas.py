"""Pydantic models of the OpenAI-compatible endpoints, as the server accepts and answers them.

Requests ignore fields they do not declare (OpenAI clients send many optional ones) but
bound everything they read. Only text content is accepted; `n` must be 1; the legacy
`/v1/completions` takes one prompt.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from llmagentos.server.schemas import Integral


class _In(BaseModel):
    # Unknown fields are ignored (clients send many optional ones); known ones must have
    # their declared types, without coercion.
    model_config = ConfigDict(extra="ignore", strict=True)


class FunctionCallIn(_In):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    arguments: Annotated[str, Field(max_length=1_000_000)] = "{}"


class ToolCallIn(_In):
    id: Annotated[str, Field(max_length=200)]
    type: Literal["function"] = "function"
    function: FunctionCallIn


class TextPart(_In):
    type: Literal["text"]
    text: Annotated[str, Field(max_length=4_000_000)]


class ChatMessageIn(_In):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Annotated[str, Field(max_length=4_000_000)] | list[TextPart] | None = None
    name: Annotated[str, Field(max_length=200)] | None = None
    tool_calls: Annotated[list[ToolCallIn], Field(max_length=128)] | None = None
    tool_call_id: Annotated[str, Field(max_length=200)] | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content)


class FunctionDefIn(_In):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=100_000)] = ""
    parameters: dict[str, Any] = {}


class ToolIn(_In):
    type: Literal["function"] = "function"
    function: FunctionDefIn


class NamedToolChoice(_In):
    type: Literal["function"] = "function"
    function: dict[str, Any]


class StreamOptions(_In):
    include_usage: bool = False


class _Generation(_In):
    """What both completion APIs take: the model, sampling, stop strings, streaming."""

    model: Annotated[str, Field(max_length=200, description="A model name from /v1/models")]
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    stop: (
        Annotated[str, Field(max_length=1000)]
        | Annotated[list[Annotated[str, Field(max_length=1000)]], Field(max_length=16)]
        | None
    ) = None
    seed: Annotated[int, Field(ge=-(2**63), le=2**63 - 1), Integral] | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    n: Annotated[int, Field(ge=1, le=1, description="Only one choice"), Integral] | None = None
    user: Annotated[str, Field(max_length=200)] | None = None

    def stop_list(self) -> tuple[str, ...]:
        if self.stop is None:
            return ()
        stops = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)
        return tuple(s for s in stops if s)


class ChatCompletionRequest(_Generation):
    """The body of `POST /v1/chat/completions`."""

    messages: Annotated[list[ChatMessageIn], Field(min_length=1, max_length=10_000)]
    max_tokens: Annotated[int, Field(ge=1, le=1_000_000), Integral] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1, le=1_000_000), Integral] | None = None
    tools: Annotated[list[ToolIn], Field(max_length=128)] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    response_format: dict[str, Any] | None = None
    logprobs: bool | None = None
    top_logprobs: Annotated[int, Field(ge=0, le=20), Integral] | None = None


_Prompt = Annotated[str, Field(max_length=4_000_000)]


class CompletionRequest(_Generation):
    """The body of `POST /v1/completions` (the legacy API: a prompt in, its continuation
    out). One prompt only; `logprobs` is the legacy count (the chosen tokens' logprobs are
    returned, without alternatives); `suffix` and `best_of` > 1 are not supported."""

    prompt: _Prompt | Annotated[list[_Prompt], Field(min_length=1, max_length=1)]
    max_tokens: Annotated[int, Field(ge=1, le=1_000_000), Integral] = 16  # OpenAI's default
    logprobs: Annotated[int, Field(ge=0, le=5), Integral] | None = None
    echo: bool | None = None
    suffix: Annotated[str, Field(max_length=0, description="Not supported")] | None = None
    best_of: Annotated[int, Field(ge=1, le=1, description="Only one"), Integral] | None = None

    def prompt_text(self) -> str:
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]


# -- responses ------------------------------------------------------------------------


class FunctionCallOut(BaseModel):
    name: str
    arguments: str


class ToolCallOut(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCallOut


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None
    tool_calls: list[ToolCallOut] | None = None


class TopLogprob(BaseModel):
    token: str
    logprob: float
    bytes: list[int] | None = None


class TokenLogprob(BaseModel):
    token: str
    logprob: float
    bytes: list[int] | None = None
    top_logprobs: list[TopLogprob] = []


class ChoiceLogprobs(BaseModel):
    content: list[TokenLogprob] | None = None


FinishReason = Literal["stop", "length", "tool_calls", "content_filter"]


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: FinishReason
    logprobs: ChoiceLogprobs | None = None


class UsageOut(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    """The body of a non-streamed chat completion."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: UsageOut


class FunctionDelta(BaseModel):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(BaseModel):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: FunctionDelta | None = None


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: FinishReason | None = None
    logprobs: ChoiceLogprobs | None = None


class ChatCompletionChunk(BaseModel):
    """One server-sent event of a streamed chat completion (`data: <chunk>`)."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: UsageOut | None = None


class CompletionLogprobs(BaseModel):
    """Legacy logprobs: parallel lists, one entry per generated token."""

    tokens: list[str]
    token_logprobs: list[float]
    top_logprobs: list[dict[str, float]] | None = None
    text_offset: list[int]


class CompletionChoice(BaseModel):
    index: int = 0
    text: str
    finish_reason: FinishReason | None  # null in stream events until the last
    logprobs: CompletionLogprobs | None = None


class Completion(BaseModel):
    """The body of a legacy completion, and each event of a streamed one (`data: <it>`;
    `usage` only on the last with `stream_options.include_usage`)."""

    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: UsageOut | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "llmagentos"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
