"""Processes: spawn, list, inspect, kill, suspend, resume, wait, logs and syscall timeline.

Spawning is a `Spawn` syscall of the key's operator process, so the new process is the
operator's child: it gets at most the key's capabilities and spends from its budgets.
A key with the `operate` scope controls the processes it started (and their children);
`admin` controls every process.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
from typing import Annotated

from fastapi import APIRouter, Query

from llmagentos import records
from llmagentos.errors import UnknownProcess
from llmagentos.kernel.syscalls import Spawn
from llmagentos.server import schemas as s
from llmagentos.server.auth import ApiKey
from llmagentos.server.deps import OperateKey, ReadKey, State, operator_call
from llmagentos.server.errors import HTTPError
from llmagentos.server.routes.common import (
    ERRORS,
    Pid,
    StrictRoute,
    process_out,
    process_row,
    row_out,
    syscall_name,
)
from llmagentos.server.state import ServerState

router = APIRouter(
    prefix="/api/processes", tags=["processes"], responses=ERRORS, route_class=StrictRoute
)

Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get("", response_model=list[s.ProcessOut], summary="List processes")
async def list_processes(
    st: State,
    key: ReadKey,
    all: Annotated[bool, Query(description="Include ended processes")] = True,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[s.ProcessOut]:
    infos = st.kernel.ps(all=all)
    return [process_out(i) for i in infos[-limit:]]


@router.post(
    "", status_code=201, response_model=s.SpawnResponse, summary="Spawn a program as a process"
)
async def spawn(body: s.SpawnRequest, st: State, key: OperateKey) -> s.SpawnResponse:
    if not any(fnmatch.fnmatchcase(body.program, p) for p in key.programs):
        raise HTTPError(
            403,
            f"API key {key.name!r} may not spawn {body.program!r};"
            f" it may spawn {list(key.programs)}",
            "program_not_allowed",
        )
    caps = body.capabilities.to_record() if body.capabilities is not None else None
    call = Spawn(body.program, dict(body.args), body.name, body.priority, caps)
    pid = int(await operator_call(st, key, call))
    proc = st.kernel.get(pid)
    return s.SpawnResponse(pid=pid, name=proc.name, program=proc.program)


@router.get("/{pid}", response_model=s.ProcessDetail, summary="Inspect a process")
async def inspect(pid: Pid, st: State, key: ReadKey) -> s.ProcessDetail:
    children = [p.pid for p in st.kernel.ps() if p.parent == pid]
    try:
        proc = st.kernel.get(pid)
    except UnknownProcess:
        row = process_row(st.kernel, pid)
        return s.ProcessDetail(
            **row_out(row).model_dump(),
            args=json.loads(row["args"]),
            namespace=row["namespace"],
            capabilities=s.CapabilitiesModel.of(records.loads(row["caps"])),
            children=children,
        )
    return s.ProcessDetail(
        **process_out(proc.info()).model_dump(),
        args=proc.args,
        namespace=proc.namespace,
        capabilities=s.CapabilitiesModel.of(proc.caps),
        children=children,
    )


def _check_control(st: ServerState, key: ApiKey, pid: int) -> None:
    st.kernel.get(pid)  # UnknownProcess (404) first: no hint about others' processes
    if not key.allows("admin") and not st.operators.owns(key, pid):
        raise HTTPError(
            403,
            f"API key {key.name!r} may only control processes it started (admin keys: any)",
            "not_owner",
        )


@router.post("/{pid}/kill", response_model=s.ControlResult, summary="End a process now")
async def kill(pid: Pid, st: State, key: OperateKey) -> s.ControlResult:
    _check_control(st, key, pid)
    changed = await st.kernel.kill(pid, f"killed through the API by key {key.name!r}")
    return s.ControlResult(pid=pid, state=str(st.kernel.get(pid).state), changed=changed)


@router.post("/{pid}/suspend", response_model=s.ControlResult, summary="Hold at the next syscall")
async def suspend(pid: Pid, st: State, key: OperateKey) -> s.ControlResult:
    _check_control(st, key, pid)
    await st.kernel.suspend(pid)
    return s.ControlResult(pid=pid, state=str(st.kernel.get(pid).state), changed=True)


@router.post("/{pid}/resume", response_model=s.ControlResult, summary="Resume a suspended one")
async def resume(pid: Pid, st: State, key: OperateKey) -> s.ControlResult:
    _check_control(st, key, pid)
    await st.kernel.resume(pid)
    return s.ControlResult(pid=pid, state=str(st.kernel.get(pid).state), changed=True)


@router.get("/{pid}/wait", response_model=s.ExitOut, summary="Wait for a process to end")
async def wait(
    pid: Pid,
    st: State,
    key: ReadKey,
    timeout: Annotated[float, Query(ge=0, le=60, description="Seconds to wait at most")] = 10.0,
) -> s.ExitOut:
    """How the process ended, or its current state if it is still live after `timeout`."""
    try:
        status = await st.kernel.wait(pid, timeout)
    except TimeoutError:
        proc = st.kernel.get(pid)
        return s.ExitOut(pid=pid, state=str(proc.state))
    except asyncio.CancelledError:
        raise
    return s.ExitOut(pid=pid, state=status.state, result=status.result, error=status.error)


@router.get("/{pid}/logs", response_model=list[s.LogLine], summary="A process's log lines")
async def logs(
    pid: Pid,
    st: State,
    key: ReadKey,
    after: Annotated[int, Query(ge=0, le=2**62, description="Only lines after this id")] = 0,
    limit: Limit = 200,
) -> list[s.LogLine]:
    process_row(st.kernel, pid)
    rows = st.kernel.db.query(
        "SELECT id, ts, pid, level, message FROM logs WHERE pid = ? AND id > ? ORDER BY id LIMIT ?",
        (pid, after, limit),
    )
    return [s.LogLine(**dict(r)) for r in rows]


@router.get(
    "/{pid}/syscalls", response_model=list[s.SyscallRow], summary="A process's syscall timeline"
)
async def syscalls(pid: Pid, st: State, key: ReadKey, limit: Limit = 200) -> list[s.SyscallRow]:
    """The latest journaled system calls of the process, oldest first."""
    process_row(st.kernel, pid)
    rows = st.kernel.db.query(
        "SELECT seq, kind, status, substr(call, 1, 64) AS head, started_at, ended_at"
        " FROM journal WHERE pid = ? ORDER BY seq DESC LIMIT ?",
        (pid, limit),
    )
    return [
        s.SyscallRow(
            seq=r["seq"],
            kind=r["kind"],
            name=syscall_name(r["head"]),
            status=r["status"],
            started_at=r["started_at"],
            ended_at=r["ended_at"],
            duration_s=(r["ended_at"] - r["started_at"]) if r["ended_at"] else None,
        )
        for r in reversed(rows)
    ]
