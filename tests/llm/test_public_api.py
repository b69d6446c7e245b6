"""The public surface of `llmagentos.llm`, pinned, and kept light on import."""

from __future__ import annotations

import subprocess
import sys

import llmagentos.llm


def test_all_is_pinned() -> None:
    assert sorted(llmagentos.llm.__all__) == [
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
    for name in llmagentos.llm.__all__:
        assert getattr(llmagentos.llm, name) is not None


def test_import_is_light() -> None:
    # Backends and doubles load when a spec asks for them, not on import.
    code = (
        "import sys, llmagentos.llm; "
        "print(sorted(m for m in ('llmagentos.llm.openai', 'llmagentos.testing', 'torch') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
