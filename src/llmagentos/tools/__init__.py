"""Tools: functions agents may call, described from type hints and run safely.

```python
from llmagentos.tools import ToolContext, ToolRegistry, tool

@tool(timeout_s=10)
def search(query: str, limit: int = 5) -> list[str]:
    \"\"\"Search the notes.

    Args:
        query: What to look for.
        limit: At most this many hits.
    \"\"\"
    ...

registry = ToolRegistry([search])
result = await registry.invoke("search", {"query": "ram"}, context=ctx)  # a ToolResult
```
"""

from llmagentos.tools.builtin import BUILTIN_TOOLS, calculator, make_python_exec, python_exec
from llmagentos.tools.context import ToolContext
from llmagentos.tools.docstrings import Docstring, parse_docstring
from llmagentos.tools.locks import ReadWriteLock
from llmagentos.tools.registry import ToolRegistry
from llmagentos.tools.sandbox import Sandbox, SandboxResult, SubprocessSandbox
from llmagentos.tools.schema import ArgumentSchema
from llmagentos.tools.tool import Tool, tool

__all__ = [
    "BUILTIN_TOOLS",
    "ArgumentSchema",
    "Docstring",
    "ReadWriteLock",
    "Sandbox",
    "SandboxResult",
    "SubprocessSandbox",
    "Tool",
    "ToolContext",
    "ToolRegistry",
    "calculator",
    "make_python_exec",
    "parse_docstring",
    "python_exec",
    "tool",
]
