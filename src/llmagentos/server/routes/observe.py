"""Watching the OS: health, Prometheus metrics, scheduler, recent syscalls, logs, and the
dashboard's one-call snapshot."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from llmagentos import __version__
from llmagentos.kernel.events import SyscallTrace
from llmagentos.server import ops_schemas as o
from llmagentos.server import schemas as s
from llmagentos.server.deps import ReadKey, State
from llmagentos.server.metrics import CONTENT_TYPE
from llmagentos.server.routes.approvals import approval_out
from llmagentos.server.routes.common import ERRORS, StrictRoute, process_out
from llmagentos.server.state import ServerState

router = APIRouter(tags=["observability"], responses=ERRORS, route_class=StrictRoute)


@router.get("/health", response_model=o.HealthOut, summary="Liveness (no key needed)")
async def health(st: State) -> o.HealthOut:
    return o.HealthOut(status="ok", version=__version__, uptime_s=time.time() - st.started_at)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(st: State, key: ReadKey) -> Response:
    return Response(st.metrics.render(), media_type=CONTENT_TYPE)


@router.get("/api/whoami", response_model=o.WhoAmI, summary="The key making the request")
async def whoami(st: State, key: ReadKey) -> o.WhoAmI:
    return o.WhoAmI(
        name=key.name, scopes=list(key.scopes), operator_pid=st.operators.pids().get(key.name)
    )


@router.get("/api/scheduler", response_model=o.SchedulerOut, summary="Queues and slots")
async def scheduler(st: State, key: ReadKey) -> o.SchedulerOut:
    return scheduler_out(st)


@router.get(
    "/api/syscalls", response_model=list[s.TraceOut], summary="Recent syscalls (all processes)"
)
async def recent_syscalls(
    st: State,
    key: ReadKey,
    pid: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 100,
) -> list[s.TraceOut]:
    return [trace_out(t) for t in st.telemetry.recent_for(pid, limit)]


@router.get("/api/logs", response_model=list[s.LogLine], summary="Log lines of all processes")
async def logs(
    st: State,
    key: ReadKey,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[s.LogLine]:
    """The latest `limit` lines after id `after`, oldest first."""
    return tail_logs(st, after, limit)


@router.get("/api/dashboard", response_model=o.DashboardOut, summary="Dashboard snapshot")
async def dashboard(
    st: State,
    key: ReadKey,
    processes: Annotated[int, Query(ge=1, le=2000, description="Most recent N processes")] = 200,
    syscalls: Annotated[int, Query(ge=1, le=2000)] = 200,
) -> o.DashboardOut:
    infos = st.kernel.ps()
    live = [i for i in infos if i.state not in ("done", "failed", "killed")]
    ended = [i for i in infos if i.state in ("done", "failed", "killed")]
    # Every live process first (up to the limit), then the most recently ended ones.
    room = max(0, processes - len(live))
    shown = sorted(live[:processes] + (ended[-room:] if room else []), key=lambda i: i.pid)
    return o.DashboardOut(
        now=time.time(),
        processes=[process_out(i) for i in shown],
        scheduler=scheduler_out(st),
        tokens=[
            o.TokenPoint(ts=p.ts, tokens_in=p.tokens_in, tokens_out=p.tokens_out)
            for p in st.telemetry.tokens
        ],
        batch_sizes=dict(st.telemetry.batch_sizes),
        peak_batch=dict(st.telemetry.peak_batch),
        approvals=[approval_out(a) for a in st.kernel.approvals.list("pending")],
        recent_syscalls=[trace_out(t) for t in st.telemetry.recent_for(None, syscalls)],
        logs=tail_logs(st, 0, 50),
        models=sorted(st.kernel.models),
    )


def tail_logs(st: ServerState, after: int, limit: int) -> list[s.LogLine]:
    rows = st.kernel.db.query(
        "SELECT id, ts, pid, level, message FROM logs WHERE id > ? ORDER BY id DESC LIMIT ?",
        (after, limit),
    )
    return [s.LogLine(**dict(r)) for r in reversed(rows)]


def scheduler_out(st: ServerState) -> o.SchedulerOut:
    stats = st.kernel.scheduler.stats()
    return o.SchedulerOut(
        policy=stats.policy,
        queued=stats.queued,
        in_flight=stats.in_flight,
        rejected=stats.rejected,
        resources=[
            o.ResourceOut(
                resource=r.resource,
                limit=r.limit,
                queued=r.queued,
                in_flight=r.in_flight,
                dispatched=r.dispatched,
                completed=r.completed,
                oldest_wait_s=r.oldest_wait_s,
            )
            for r in stats.resources
        ],
        programs=[
            o.ProgramOut(
                program=p.program,
                tokens=p.tokens,
                calls=p.calls,
                queued=p.queued,
                in_flight=p.in_flight,
            )
            for p in stats.programs
        ],
    )


def trace_out(t: SyscallTrace) -> s.TraceOut:
    return s.TraceOut(
        pid=t.pid,
        program=t.program,
        name=t.name,
        kind=t.kind,
        seq=t.seq,
        started_at=t.started_at,
        duration_s=t.duration_s,
        ok=t.ok,
        error_type=t.error_type,
        replayed=t.replayed,
    )
