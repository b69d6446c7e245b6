"""Model cores behind one protocol, `LLMBackend`, and the records they exchange.

Light on import: backends that need httpx or torch load when a spec asks for them
(`create_backend("openai:gpt-4o-mini")`), not here.
"""

from llmagentos.llm.base import LLMBackend
from llmagentos.llm.spec import (
    ModelSpec,
    create_backend,
    parse_model_spec,
    register_provider,
    registered_providers,
)
from llmagentos.llm.types import (
    FinishReason,
    LLMRequest,
    LLMResponse,
    Message,
    Role,
    StreamChunk,
    TokenLogprob,
    ToolCallRequest,
    ToolSpec,
    Usage,
)

__all__ = [
    "FinishReason",
    "LLMBackend",
    "LLMRequest",
    "LLMResponse",
    "Message",
    "ModelSpec",
    "Role",
    "StreamChunk",
    "TokenLogprob",
    "ToolCallRequest",
    "ToolSpec",
    "Usage",
    "create_backend",
    "parse_model_spec",
    "register_provider",
    "registered_providers",
]
