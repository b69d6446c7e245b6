"""The scheduler's records: what goes in (queued calls, completions) and what comes out
(decisions, rejections, stats). Plain data, so scheduler tests need nothing else."""

from __future__ import annotations

from llmagentos.records import record

Key = tuple[float, ...]
"""A sort key; smaller starts sooner."""


@record
class QueuedCall:
    """A call waiting for a slot on its resource."""

    call_id: int
    pid: int
    program: str
    resource: str
    priority: int = 0
    enqueued_at: float = 0.0
    est_tokens: int = 0


@record
class Completion:
    """What a dispatched call used; the kernel reports one for every dispatched call."""

    call_id: int
    pid: int
    program: str
    resource: str
    tokens: int = 0
    elapsed_s: float = 0.0


@record
class Rejection:
    """A call the scheduler will never start, and why."""

    call_id: int
    pid: int
    reason: str


@record
class SchedulerDecision:
    """The outcome of one `schedule` step: calls to start, in order, and calls refused."""

    dispatch: tuple[QueuedCall, ...]
    rejected: tuple[Rejection, ...]
    waiting: int


@record
class ResourceStats:
    """One resource's queue and slots, for dashboards."""

    resource: str
    limit: int | None
    queued: int
    in_flight: int
    dispatched: int
    completed: int
    oldest_wait_s: float


@record
class ProgramStats:
    """One program's attained service (from completions) and current load."""

    program: str
    tokens: int
    calls: int
    queued: int
    in_flight: int


@record
class SchedulerStats:
    """A snapshot of the scheduler, for dashboards."""

    policy: str
    now: float
    queued: int
    in_flight: int
    rejected: int
    resources: tuple[ResourceStats, ...]
    programs: tuple[ProgramStats, ...]
