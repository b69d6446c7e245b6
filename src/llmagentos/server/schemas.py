"""Pydantic models of the REST API: the trust boundary where HTTP meets kernel records.

Inputs are bounded (lengths, counts, ranges) so nothing unbounded reaches the kernel; the
kernel still checks everything itself. Outputs mirror kernel records one to one.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from llmagentos import records
from llmagentos.kernel.syscalls import Capabilities


def _integral(value: Any) -> Any:
    # JSON Schema's `integer` includes 2.0; strict validation would refuse it.
    return int(value) if isinstance(value, float) and value.is_integer() else value


Integral = BeforeValidator(_integral)
"""For integer fields: accept integral floats too, and nothing else loose (no "2", no true).
Put it after the field's bounds (`Annotated[int, Field(ge=..), Integral]`): bounds placed
after a validator vanish from the JSON schema."""


NO_CONTROL = r"^[^\x00-\x1f\x7f]+$"
Pattern = Annotated[str, Field(min_length=1, max_length=200)]
Patterns = Annotated[list[Pattern], Field(max_length=100)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Namespace = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_CONTROL)]
JSONValue = Any
BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
# File paths: no control characters or backslashes (the kernel checks the rest: relative,
# no '..', no trailing '/').
FILE_PATH = r"^[^\\\x00-\x1f\x7f]+$"


class Model(BaseModel):
    """Base of request bodies: unknown fields and type coercions ("1" for 1) are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Out(BaseModel):
    """Base of response models (extra fields never appear; none are forbidden on read)."""


# -- errors -------------------------------------------------------------------------------


class ErrorDetail(Out):
    type: str
    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorBody(Out):
    error: ErrorDetail

    @classmethod
    def build(cls, type_: str, code: str, message: str, details: Any = None) -> ErrorBody:
        return cls(error=ErrorDetail(type=type_, code=code, message=message, details=details))


class OpenAIErrorDetail(Out):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIErrorBody(Out):
    error: OpenAIErrorDetail

    @classmethod
    def build(cls, message: str, type_: str, code: str | None) -> OpenAIErrorBody:
        return cls(error=OpenAIErrorDetail(message=message, type=type_, code=code))


# -- capabilities ---------------------------------------------------------------------


class CapabilitiesModel(Model):
    """What a process (or an API key) may do; `null` inherits the parent's (see `access`)."""

    tools: Patterns | None = None
    namespaces: Patterns | None = None
    peers: Patterns | None = None
    topics: Patterns | None = None
    models: Patterns | None = None
    spawn: bool | None = None
    max_tokens: Annotated[int, Field(ge=0, le=10**15), Integral] | None = None
    max_tool_calls: Annotated[int, Field(ge=0, le=10**12), Integral] | None = None
    max_wall_s: Annotated[float, Field(ge=0, le=10**9)] | None = None
    max_syscalls: Annotated[int, Field(ge=0, le=10**12), Integral] | None = None

    def to_record(self) -> Capabilities:
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in self.model_dump().items()}
        return records.replace(Capabilities(), **values)

    @classmethod
    def of(cls, caps: Capabilities) -> CapabilitiesModel:
        values = {name: getattr(caps, name) for name in Capabilities.__dataclass_fields__}
        return cls.model_validate(
            {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
        )


# -- processes ------------------------------------------------------------------------


class SpawnRequest(Model):
    """Start `program` (a registered app name, `module:function`, or `file.py:function`)."""

    program: Annotated[str, Field(min_length=1, max_length=500)]
    args: dict[str, JSONValue] = {}
    name: Name | None = None
    priority: Annotated[int, Field(ge=-100, le=100), Integral] = 0
    capabilities: CapabilitiesModel | None = None


class SpawnResponse(Out):
    pid: int
    name: str
    program: str


class Usage(Out):
    tokens_in: int
    tokens_out: int
    llm_calls: int
    tool_calls: int
    syscalls: int
    queue_time_s: float
    wall_time_s: float


class ProcessOut(Out):
    pid: int
    name: str
    program: str
    parent: int | None
    state: str
    priority: int
    created_at: float
    started_at: float | None
    ended_at: float | None
    usage: Usage
    error: str | None = None
    result: JSONValue = None
    restarts: int = 0


class ProcessDetail(ProcessOut):
    args: dict[str, JSONValue]
    namespace: str
    capabilities: CapabilitiesModel
    children: list[int]


class ControlResult(Out):
    pid: int
    state: str
    changed: bool


class ExitOut(Out):
    pid: int
    state: str
    result: JSONValue = None
    error: str | None = None


class LogLine(Out):
    id: int
    ts: float
    pid: int
    level: str
    message: str


class SyscallRow(Out):
    """One journaled system call of a process (its timeline)."""

    seq: int
    kind: str
    name: str
    status: str
    started_at: float
    ended_at: float | None
    duration_s: float | None


class TraceOut(Out):
    """One finished system call as the observer saw it."""

    pid: int
    program: str
    name: str
    kind: str
    seq: int
    started_at: float
    duration_s: float
    ok: bool
    error_type: str | None = None
    replayed: bool = False


# -- apps -----------------------------------------------------------------------------

APP_NAME = r"^[a-z][a-z0-9_-]{0,63}$"


class AppOut(Out):
    """An app the server can run: its manifest, less what only the host should see."""

    name: str
    version: str
    description: str
    bundled: bool
    entry: str
    model: str | None
    tools: list[str]
    capabilities: CapabilitiesModel  # what the app asks for (null fields: the key's)
    args: dict[str, JSONValue]


class AppRunRequest(Model):
    """Arguments for the app's entry point (over the manifest's defaults)."""

    args: dict[str, JSONValue] = {}
    name: Name | None = None
    priority: Annotated[int, Field(ge=-100, le=100), Integral] = 0


class AppSpawned(SpawnResponse):
    app: str
    version: str
    capabilities: CapabilitiesModel  # what the process runs with


# -- messages -------------------------------------------------------------------------


class SendRequest(Model):
    to: Annotated[int, Field(ge=0, le=2**62), Integral] | Name
    payload: JSONValue = None


class MessageId(Out):
    id: int


class EnvelopeOut(Out):
    id: int
    sender: int
    recipient: int
    payload: JSONValue = None
    topic: str | None = None
    reply_to: int | None = None
    correlation: int | None = None
    sent_at: float = 0.0


class MailboxResponse(Out):
    message: EnvelopeOut | None


class PublishRequest(Model):
    payload: JSONValue = None


class PublishResponse(Out):
    delivered: int


# -- approvals ------------------------------------------------------------------------


class ApprovalOut(Out):
    id: int
    pid: int
    seq: int
    program: str
    kind: str
    target: str
    reason: str
    status: str
    decided_by: str | None = None
    note: str = ""
    created_at: float = 0.0
    decided_at: float | None = None


class DecisionRequest(Model):
    note: Annotated[str, Field(max_length=2000)] = ""


# -- memory and storage ---------------------------------------------------------------


class MemoryIn(Model):
    text: Annotated[str, Field(min_length=1, max_length=64_000)]
    metadata: dict[str, JSONValue] | None = None
    namespace: Namespace | None = None


class MemoryId(Out):
    id: str


class MemoryOut(Out):
    id: str
    text: str
    metadata: dict[str, JSONValue] | None = None
    score: float = 0.0


class Deleted(Out):
    deleted: bool


class KVIn(Model):
    value: JSONValue = None


class KVOut(Out):
    key: str
    value: JSONValue = None
    found: bool


class KeyList(Out):
    keys: list[str]


class TextFileIn(Model):
    """A text file's content."""

    content: Annotated[str, Field(max_length=8 * 1024 * 1024)]


class BinaryFileIn(Model):
    """A binary file's content, base64-encoded."""

    base64: Annotated[str, Field(max_length=11 * 1024 * 1024, pattern=BASE64)]


class FileOut(Out):
    path: str
    content: str
    encoding: Literal["utf-8", "base64"]


class Written(Out):
    path: str
    bytes: int


class PathList(Out):
    paths: list[str]
