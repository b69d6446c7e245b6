"""Approvals: the calls a policy sent to a person, and that person's decision.

Listing needs `read`; deciding needs `admin`, since approving lets an agent do what the
policy would not let it do alone. The decision is recorded with the key's name.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from llmagentos.access import Approval
from llmagentos.server import schemas as s
from llmagentos.server.deps import AdminKey, ReadKey, State
from llmagentos.server.routes.common import ERRORS, StrictRoute

router = APIRouter(
    prefix="/api/approvals", tags=["approvals"], responses=ERRORS, route_class=StrictRoute
)

ApprovalId = Annotated[int, Path(ge=0, le=2**62)]


def approval_out(a: Approval) -> s.ApprovalOut:
    return s.ApprovalOut(
        id=a.id,
        pid=a.pid,
        seq=a.seq,
        program=a.program,
        kind=a.kind,
        target=a.target,
        reason=a.reason,
        status=a.status,
        decided_by=a.decided_by,
        note=a.note,
        created_at=a.created_at,
        decided_at=a.decided_at,
    )


@router.get("", response_model=list[s.ApprovalOut], summary="List approval requests")
async def list_approvals(
    st: State,
    key: ReadKey,
    status: Annotated[Literal["pending", "approved", "rejected"] | None, Query()] = "pending",
) -> list[s.ApprovalOut]:
    return [approval_out(a) for a in st.kernel.approvals.list(status)]


@router.get("/{approval_id}", response_model=s.ApprovalOut, summary="One approval request")
async def get_approval(approval_id: ApprovalId, st: State, key: ReadKey) -> s.ApprovalOut:
    return approval_out(st.kernel.approvals.get(approval_id))


async def _decide(st: State, key: AdminKey, approval_id: int, approve: bool, note: str) -> Approval:
    # `decide` blocks until its write commits: run it off the kernel's loop.
    by = f"api:{key.name}"
    return await asyncio.to_thread(st.kernel.approvals.decide, approval_id, approve, by, note)


@router.post("/{approval_id}/approve", response_model=s.ApprovalOut, summary="Let it go ahead")
async def approve(
    approval_id: ApprovalId, st: State, key: AdminKey, body: s.DecisionRequest | None = None
) -> s.ApprovalOut:
    note = body.note if body is not None else ""
    return approval_out(await _decide(st, key, approval_id, True, note))


@router.post("/{approval_id}/reject", response_model=s.ApprovalOut, summary="Refuse the call")
async def reject(
    approval_id: ApprovalId, st: State, key: AdminKey, body: s.DecisionRequest | None = None
) -> s.ApprovalOut:
    note = body.note if body is not None else ""
    return approval_out(await _decide(st, key, approval_id, False, note))
