"""llmagentos: an operating system for LLM agents.

Agents are processes; everything they do is a typed system call through one kernel.

```python
from llmagentos import Agent, LLM

model = LLM("openai:gpt-4o-mini")

class Echo(Agent):
    def act(self, observation):
        return {"text": model.generate_text(observation["text"], max_length=100)}

Echo().run(["hello"])
```
"""

from llmagentos.errors import (
    AccessError,
    LLMAgentOSError,
    PermissionDenied,
    QuotaExceeded,
    RecoverableError,
    UserError,
)
from llmagentos.kernel.config import KernelConfig
from llmagentos.kernel.context import ProcessContext, SyncContext
from llmagentos.kernel.kernel import Kernel
from llmagentos.kernel.process import ProcessInfo, ProcessState
from llmagentos.kernel.syscalls import Capabilities, Envelope, ExitStatus, ToolResult
from llmagentos.llm.types import LLMRequest, LLMResponse, Message, ToolSpec
from llmagentos.sdk.agent import Agent, AsyncAgent
from llmagentos.sdk.llm import LLM
from llmagentos.sdk.runtime import Runtime
from llmagentos.tools import ToolContext, ToolRegistry, tool

__version__ = "0.1.0"

__all__ = [
    "LLM",
    "AccessError",
    "Agent",
    "AsyncAgent",
    "Capabilities",
    "Envelope",
    "ExitStatus",
    "Kernel",
    "KernelConfig",
    "LLMAgentOSError",
    "LLMRequest",
    "LLMResponse",
    "Message",
    "PermissionDenied",
    "ProcessContext",
    "ProcessInfo",
    "ProcessState",
    "QuotaExceeded",
    "RecoverableError",
    "Runtime",
    "SyncContext",
    "ToolContext",
    "ToolRegistry",
    "ToolResult",
    "ToolSpec",
    "UserError",
    "__version__",
    "tool",
]
