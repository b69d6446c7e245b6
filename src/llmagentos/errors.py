"""Errors raised by llmagentos, and their journal form.

```
LLMAgentOSError
├── UserError                 the caller's input is wrong; fix it and call again
│   ├── InvalidArgument
│   ├── UnknownProcess
│   ├── UnknownTool
│   ├── UnknownModel
│   ├── RequestTooLarge
│   ├── NotFound
│   └── InvalidState          e.g. resuming a process that is not suspended
├── AccessError               the call was refused by policy
│   ├── PermissionDenied
│   ├── ApprovalRejected
│   └── QuotaExceeded
├── RecoverableError          the same call may succeed later
│   ├── BackendError
│   │   ├── BackendUnavailable
│   │   └── RateLimited
│   ├── SyscallTimeout
│   ├── ToolFailed
│   └── MalformedModelOutput
└── FatalError                the kernel cannot go on with this process or store
    ├── JournalError
    │   └── JournalFull
    └── NondeterminismError   replay diverged from the journal

ProcessExit (BaseException)   control flow, not an error
└── ProcessKilled             raised inside a killed process so `except Exception` cannot eat it
```

Every `LLMAgentOSError` has a stable `code` and can be turned into an `ErrorInfo` record
(journaled, sent over HTTP) and back with `error_from_info`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from llmagentos.records import record


@record
class ErrorInfo:
    """The serialisable form of an error: type name, message and details."""

    type: str
    message: str
    code: str = "error"
    recoverable: bool = False
    details: dict[str, Any] | None = None


class LLMAgentOSError(Exception):
    """Base of every error llmagentos raises on purpose."""

    code: ClassVar[str] = "error"
    recoverable: ClassVar[bool] = False

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def to_info(self) -> ErrorInfo:
        return ErrorInfo(
            type=type(self).__name__,
            message=self.message,
            code=self.code,
            recoverable=self.recoverable,
            details=self.details or None,
        )


class UserError(LLMAgentOSError):
    code = "user_error"


class InvalidArgument(UserError):
    code = "invalid_argument"


class UnknownProcess(UserError):
    code = "unknown_process"


class UnknownTool(UserError):
    code = "unknown_tool"


class UnknownModel(UserError):
    code = "unknown_model"


class RequestTooLarge(UserError):
    code = "request_too_large"


class NotFound(UserError):
    code = "not_found"


class InvalidState(UserError):
    code = "invalid_state"


class AccessError(LLMAgentOSError):
    code = "access_error"


class PermissionDenied(AccessError):
    code = "permission_denied"


class ApprovalRejected(AccessError):
    code = "approval_rejected"


class QuotaExceeded(AccessError):
    code = "quota_exceeded"


class RecoverableError(LLMAgentOSError):
    code = "recoverable"
    recoverable = True


class BackendError(RecoverableError):
    code = "backend_error"


class BackendUnavailable(BackendError):
    code = "backend_unavailable"


class RateLimited(BackendError):
    code = "rate_limited"


class SyscallTimeout(RecoverableError):
    code = "timeout"


class ToolFailed(RecoverableError):
    code = "tool_failed"


class MalformedModelOutput(RecoverableError):
    code = "malformed_model_output"


class FatalError(LLMAgentOSError):
    code = "fatal"


class JournalError(FatalError):
    code = "journal_error"


class JournalFull(JournalError):
    code = "journal_full"


class NondeterminismError(FatalError):
    code = "nondeterminism"


class ProcessExit(BaseException):
    """Unwinds a process; not an error."""


class ProcessKilled(ProcessExit):
    """Raised at a killed process's next system call."""


def _all_error_types() -> dict[str, type[LLMAgentOSError]]:
    found: dict[str, type[LLMAgentOSError]] = {}
    stack: list[type[LLMAgentOSError]] = [LLMAgentOSError]
    while stack:
        cls = stack.pop()
        found[cls.__name__] = cls
        stack.extend(cls.__subclasses__())
    return found


def error_from_info(info: ErrorInfo) -> LLMAgentOSError:
    """Rebuild the exception an `ErrorInfo` describes (unknown types become the base)."""
    cls = _all_error_types().get(info.type, LLMAgentOSError)
    err = cls(info.message, **(info.details or {}))
    return err


def as_error_info(exc: BaseException) -> ErrorInfo:
    """Describe any exception as an `ErrorInfo` (foreign exceptions keep their type name)."""
    if isinstance(exc, LLMAgentOSError):
        return exc.to_info()
    return ErrorInfo(type=type(exc).__name__, message=str(exc) or type(exc).__name__)
