"""System call records: one record type per call, and the typed results they return.

An agent asks the kernel for everything through these. A record is immutable, JSON-codable
(see `llmagentos.records`) and journaled before it runs; its result is journaled after.
`Syscall.kind` groups calls for metrics, access checks and scheduling.
"""

from __future__ import annotations

from typing import Any, ClassVar

from llmagentos.llm.types import LLMRequest
from llmagentos.records import record

JSON = Any


class Syscall:
    """Marker base of syscall records."""

    __slots__ = ()
    kind: ClassVar[str] = "syscall"


# -- model ------------------------------------------------------------------------------


@record
class LLMCall(Syscall):
    """Ask a model: chat (or plain generation when `request.raw_prompt`). `stream` streams."""

    kind: ClassVar[str] = "llm"
    request: LLMRequest
    stream: bool = False


# -- tools ------------------------------------------------------------------------------


@record
class ToolInvoke(Syscall):
    """Call a registered tool with JSON arguments."""

    kind: ClassVar[str] = "tool"
    name: str
    arguments: dict[str, JSON]
    timeout_s: float | None = None


@record
class ToolResult:
    """A tool's outcome. Errors are observations for the agent, not exceptions."""

    name: str
    ok: bool
    output: JSON = None
    error: str | None = None
    error_type: str | None = None

    def as_observation(self) -> str:
        if self.ok:
            return self.output if isinstance(self.output, str) else _json(self.output)
        return f"ERROR ({self.error_type}): {self.error}"


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


# -- memory -----------------------------------------------------------------------------


@record
class Remember(Syscall):
    """Store a memory in a namespace (default: the process's own)."""

    kind: ClassVar[str] = "memory"
    text: str
    metadata: dict[str, JSON] | None = None
    namespace: str | None = None


@record
class Recall(Syscall):
    """Find memories relevant to `query`."""

    kind: ClassVar[str] = "memory"
    query: str
    k: int = 5
    where: dict[str, JSON] | None = None
    namespace: str | None = None


@record
class Forget(Syscall):
    """Delete a memory by id."""

    kind: ClassVar[str] = "memory"
    memory_id: str
    namespace: str | None = None


@record
class MemoryItem:
    """A stored memory and, in recall results, its relevance score."""

    id: str
    text: str
    metadata: dict[str, JSON] | None = None
    score: float = 0.0


# -- storage ----------------------------------------------------------------------------


@record
class KVPut(Syscall):
    kind: ClassVar[str] = "storage"
    key: str
    value: JSON
    namespace: str | None = None


@record
class KVGet(Syscall):
    kind: ClassVar[str] = "storage"
    key: str
    default: JSON = None
    namespace: str | None = None


@record
class KVDelete(Syscall):
    kind: ClassVar[str] = "storage"
    key: str
    namespace: str | None = None


@record
class KVList(Syscall):
    kind: ClassVar[str] = "storage"
    prefix: str = ""
    namespace: str | None = None


@record
class FileWrite(Syscall):
    kind: ClassVar[str] = "storage"
    path: str
    content: str | bytes
    namespace: str | None = None


@record
class FileRead(Syscall):
    """Read a file; `version` reads an older version (see `FileHistory`)."""

    kind: ClassVar[str] = "storage"
    path: str
    namespace: str | None = None
    version: int | None = None


@record
class FileList(Syscall):
    kind: ClassVar[str] = "storage"
    prefix: str = ""
    namespace: str | None = None


@record
class FileDelete(Syscall):
    kind: ClassVar[str] = "storage"
    path: str
    namespace: str | None = None


@record
class FileHistory(Syscall):
    """The retained versions of a file, oldest first (a list of `FileVersion`)."""

    kind: ClassVar[str] = "storage"
    path: str
    namespace: str | None = None


@record
class FileRollback(Syscall):
    """Make an older version current again, as a new version; returns its number."""

    kind: ClassVar[str] = "storage"
    path: str
    version: int
    namespace: str | None = None


@record
class FileDiff(Syscall):
    """A unified diff between two versions of a file (`new`: the current one)."""

    kind: ClassVar[str] = "storage"
    path: str
    old: int
    new: int | None = None
    namespace: str | None = None


@record
class FileVersion:
    """One version of a file: a deletion has `deleted` set and no content."""

    version: int
    size: int
    sha256: str | None
    created_at: float
    deleted: bool = False
    note: str | None = None


# -- messaging --------------------------------------------------------------------------


@record
class Envelope:
    """A delivered message: who sent it, to whom or which topic, and the payload."""

    id: int
    sender: int
    recipient: int
    payload: JSON
    topic: str | None = None
    reply_to: int | None = None
    correlation: int | None = None
    sent_at: float = 0.0


@record
class Send(Syscall):
    """Put a message in another process's mailbox (`to` is a PID or a process name)."""

    kind: ClassVar[str] = "ipc"
    to: int | str
    payload: JSON
    reply_to: int | None = None


@record
class Receive(Syscall):
    """Take the next message from the own mailbox; waits up to `timeout_s` (None: forever)."""

    kind: ClassVar[str] = "ipc"
    timeout_s: float | None = None
    topic: str | None = None
    sender: int | None = None


@record
class Publish(Syscall):
    """Deliver a message to every current subscriber of `topic`."""

    kind: ClassVar[str] = "ipc"
    topic: str
    payload: JSON


@record
class Subscribe(Syscall):
    kind: ClassVar[str] = "ipc"
    topic: str


@record
class Unsubscribe(Syscall):
    kind: ClassVar[str] = "ipc"
    topic: str


@record
class Request(Syscall):
    """Send a message and wait for the reply to it."""

    kind: ClassVar[str] = "ipc"
    to: int | str
    payload: JSON
    timeout_s: float | None = 30.0


@record
class Reply(Syscall):
    """Answer a message received through `Request`."""

    kind: ClassVar[str] = "ipc"
    to_message: int
    payload: JSON


# -- processes --------------------------------------------------------------------------


@record
class Capabilities:
    """What a process may do. `None` means "whatever the parent may"; see `access`."""

    tools: tuple[str, ...] | None = None
    namespaces: tuple[str, ...] | None = None
    peers: tuple[str, ...] | None = None
    topics: tuple[str, ...] | None = None
    models: tuple[str, ...] | None = None
    spawn: bool | None = None
    max_tokens: int | None = None
    max_tool_calls: int | None = None
    max_wall_s: float | None = None
    max_syscalls: int | None = None


@record
class Spawn(Syscall):
    """Start a child process running `program` (`module:function`, a file path, or an app)."""

    kind: ClassVar[str] = "process"
    program: str
    args: dict[str, JSON] | None = None
    name: str | None = None
    priority: int = 0
    capabilities: Capabilities | None = None


@record
class Wait(Syscall):
    kind: ClassVar[str] = "process"
    pid: int
    timeout_s: float | None = None


@record
class Kill(Syscall):
    kind: ClassVar[str] = "process"
    pid: int


@record
class Now(Syscall):
    """The wall-clock time, journaled so a replayed process sees the same value."""

    kind: ClassVar[str] = "clock"


@record
class Sleep(Syscall):
    kind: ClassVar[str] = "clock"
    seconds: float


@record
class ExitStatus:
    """How a process ended."""

    pid: int
    state: str
    result: JSON = None
    error: str | None = None


SYSCALL_TYPES: tuple[type[Syscall], ...] = (
    LLMCall,
    ToolInvoke,
    Remember,
    Recall,
    Forget,
    KVPut,
    KVGet,
    KVDelete,
    KVList,
    FileWrite,
    FileRead,
    FileList,
    FileDelete,
    FileHistory,
    FileRollback,
    FileDiff,
    Send,
    Receive,
    Publish,
    Subscribe,
    Unsubscribe,
    Request,
    Reply,
    Spawn,
    Wait,
    Kill,
    Now,
    Sleep,
)
