"""Pydantic models of the observability and key-management routes (see `schemas`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from llmagentos.server.schemas import (
    ApprovalOut,
    CapabilitiesModel,
    Integral,
    LogLine,
    Model,
    Out,
    Patterns,
    ProcessOut,
    TraceOut,
)

# -- observability --------------------------------------------------------------------


class ResourceOut(Out):
    resource: str
    limit: int | None
    queued: int
    in_flight: int
    dispatched: int
    completed: int
    oldest_wait_s: float


class ProgramOut(Out):
    program: str
    tokens: int
    calls: int
    queued: int
    in_flight: int


class SchedulerOut(Out):
    policy: str
    queued: int
    in_flight: int
    rejected: int
    resources: list[ResourceOut]
    programs: list[ProgramOut]


class TokenPoint(Out):
    ts: float
    tokens_in: int
    tokens_out: int


class DashboardOut(Out):
    """Everything the dashboard shows, in one response."""

    now: float
    processes: list[ProcessOut]
    scheduler: SchedulerOut
    tokens: list[TokenPoint]
    batch_sizes: dict[str, int]
    peak_batch: dict[str, int]
    approvals: list[ApprovalOut]
    recent_syscalls: list[TraceOut]
    logs: list[LogLine]
    models: list[str]


class HealthOut(Out):
    status: Literal["ok"]
    version: str
    uptime_s: float


# -- keys -----------------------------------------------------------------------------


class KeyIn(Model):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    scopes: Annotated[list[Literal["read", "operate", "admin"]], Field(min_length=1, max_length=3)]
    capabilities: CapabilitiesModel | None = None
    programs: Patterns = ["*"]
    requests_per_minute: Annotated[int, Field(ge=1, le=10**9), Integral] | None = None
    tokens_per_minute: Annotated[int, Field(ge=1, le=10**12), Integral] | None = None


class KeyOut(Out):
    name: str
    key_id: str
    scopes: list[str]
    capabilities: CapabilitiesModel
    programs: list[str]
    used_tokens: int
    created_at: float
    last_used: float | None
    revoked: bool
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None


class KeyCreated(KeyOut):
    token: str = Field(description="The API key itself: shown once, store it now.")


class WhoAmI(Out):
    name: str
    scopes: list[str]
    operator_pid: int | None
