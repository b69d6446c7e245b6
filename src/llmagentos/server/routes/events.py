"""A server-sent-events stream of kernel events: state changes, spawns, logs, approvals.

Each event is `event: <type>` plus `data: <JSON KernelEvent>` with an `id`, so
a client can follow the OS live. Comment lines keep idle connections open through
proxies. The stream ends when the client leaves, after `max_events`, or after `timeout`.
A subscriber that falls behind loses events (the kernel never waits for it).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from llmagentos.kernel.events import KernelEvent
from llmagentos.server.deps import ReadKey, State
from llmagentos.server.routes.common import ERRORS, StrictRoute
from llmagentos.server.state import ServerState

router = APIRouter(prefix="/api", tags=["events"], responses=ERRORS, route_class=StrictRoute)


def _frame(event_id: int, event: KernelEvent) -> bytes:
    data = {"type": event.type, "pid": event.pid, "ts": event.ts, "data": event.data}
    text = json.dumps(data, default=str, ensure_ascii=False)
    return f"id: {event_id}\nevent: {event.type}\ndata: {text}\n\n".encode()


async def event_stream(
    st: ServerState,
    request: Request,
    types: set[str] | None,
    pid: int | None,
    max_events: int | None,
    timeout: float | None,
) -> AsyncIterator[bytes]:
    queue = st.kernel.events.subscribe()
    deadline = None if timeout is None else time.monotonic() + timeout
    sent = 0
    ids = itertools.count(1)
    try:
        yield b": llmagentos events\n\n"  # opens the stream at once, before any event
        while max_events is None or sent < max_events:
            wait = st.config.sse_heartbeat_s
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    return
            try:
                event = await asyncio.wait_for(queue.get(), wait)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield b": keep-alive\n\n"
                continue
            if (types is None or event.type in types) and (pid is None or event.pid == pid):
                sent += 1
                yield _frame(next(ids), event)
    finally:
        st.kernel.events.unsubscribe(queue)


@router.get(
    "/events",
    summary="Stream kernel events (SSE)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "An SSE stream"}},
)
async def events(
    request: Request,
    st: State,
    key: ReadKey,
    types: Annotated[
        str | None, Query(max_length=200, description="Comma-separated event types")
    ] = None,
    pid: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    max_events: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    timeout: Annotated[float | None, Query(gt=0, le=86_400)] = None,
) -> StreamingResponse:
    wanted = {t.strip() for t in types.split(",") if t.strip()} if types else None
    return StreamingResponse(
        event_stream(st, request, wanted, pid, max_events, timeout),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
