"""Test doubles for llmagentos, shipped with the library so users can test agents offline.

Model doubles (`ScriptedModel`, `FunctionModel`, `LatencyModel`, `NullModel`) implement
`LLMBackend`; `OpenAIServer` / `serve_openai` put any backend behind a real OpenAI-compatible
HTTP server on loopback; `block_real_models()` (or `LLMAGENTOS_BLOCK_REAL_MODELS=1`) makes
remote backends refuse non-loopback servers, so a test cannot reach a paid API by accident.
"""

from llmagentos.llm._guard import block_real_models, real_models_blocked
from llmagentos.testing.models import (
    FunctionModel,
    LatencyModel,
    ModelDouble,
    NullModel,
    ScriptedModel,
    count_tokens,
    stream_chunks,
    text_response,
    tool_call_response,
)
from llmagentos.testing.openai_server import OpenAIServer, RecordedRequest, serve_openai

__all__ = [
    "FunctionModel",
    "LatencyModel",
    "ModelDouble",
    "NullModel",
    "OpenAIServer",
    "RecordedRequest",
    "ScriptedModel",
    "block_real_models",
    "count_tokens",
    "real_models_blocked",
    "serve_openai",
    "stream_chunks",
    "text_response",
    "tool_call_response",
]
