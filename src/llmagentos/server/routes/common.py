"""Pieces shared by the route modules: documented error responses, path types, converters."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import orjson
from fastapi import Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from llmagentos.errors import UnknownProcess
from llmagentos.kernel.kernel import Kernel
from llmagentos.kernel.process import ProcessInfo
from llmagentos.server import schemas as s


class _StrictJSONRequest(Request):
    """Parses JSON bodies with orjson, which refuses what would break storage later: lone
    surrogates, NaN and infinities, nesting beyond 1024 levels (a 400, never a 500)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())
        return self._json


def _query_names(dependant: Any) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


class StrictRoute(APIRoute):
    """The route class of every router here: JSON bodies parsed by `_StrictJSONRequest`,
    and query parameters the route does not declare refused (422) instead of ignored, so
    a misspelt option is an error rather than a silent default."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        allowed = _query_names(self.dependant)

        async def strict(request: Request) -> Response:
            unknown = [n for n in request.query_params if n not in allowed]
            if unknown:
                raise RequestValidationError(
                    [
                        {"type": "extra_forbidden", "loc": ("query", n), "msg": "unknown parameter"}
                        for n in unknown[:5]
                    ]
                )
            return await handler(_StrictJSONRequest(request.scope, request.receive))

        return strict


# Every error a route may answer, so the OpenAPI spec documents what clients can get.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": s.ErrorBody, "description": "Malformed request (e.g. invalid JSON)"},
    401: {"model": s.ErrorBody, "description": "Missing, invalid or revoked API key"},
    403: {"model": s.ErrorBody, "description": "The key lacks a scope or capability"},
    404: {"model": s.ErrorBody, "description": "No such process, approval, key or item"},
    408: {"model": s.ErrorBody, "description": "The request body arrived too slowly"},
    409: {"model": s.ErrorBody, "description": "The target is in the wrong state"},
    413: {"model": s.ErrorBody, "description": "The request body or a value is too large"},
    422: {"model": s.ErrorBody, "description": "The request does not match the schema"},
    429: {"model": s.ErrorBody, "description": "A budget or rate limit is exhausted"},
    503: {"model": s.ErrorBody, "description": "A backend is unavailable; retry later"},
    504: {"model": s.ErrorBody, "description": "The call timed out"},
}

Pid = Annotated[int, Path(ge=0, le=2**62, description="Process id")]
_TYPE = re.compile(r'^\{"\$t":"(\w+)"')


def process_out(info: ProcessInfo) -> s.ProcessOut:
    u = info.usage
    return s.ProcessOut(
        pid=info.pid,
        name=info.name,
        program=info.program,
        parent=info.parent,
        state=info.state,
        priority=info.priority,
        created_at=info.created_at,
        started_at=info.started_at,
        ended_at=info.ended_at,
        usage=s.Usage(
            tokens_in=u.tokens_in,
            tokens_out=u.tokens_out,
            llm_calls=u.llm_calls,
            tool_calls=u.tool_calls,
            syscalls=u.syscalls,
            queue_time_s=u.queue_time_s,
            wall_time_s=u.wall_time_s,
        ),
        error=info.error,
        result=info.result,
        restarts=info.restarts,
    )


def process_row(kernel: Kernel, pid: int) -> dict[str, Any]:
    """A process's row in the database (processes of earlier kernel runs live only there)."""
    row = kernel.db.query_one("SELECT * FROM processes WHERE pid = ?", (pid,))
    if row is None:
        raise UnknownProcess(f"no process with pid {pid}", pid=pid)
    return dict(row)


def row_out(row: dict[str, Any]) -> s.ProcessOut:
    usage = json.loads(row["usage"]) if row.get("usage") else {}
    started, ended = row["started_at"], row["ended_at"]
    return s.ProcessOut(
        pid=row["pid"],
        name=row["name"],
        program=row["program"],
        parent=row["parent"],
        state=row["state"],
        priority=row["priority"],
        created_at=row["created_at"],
        started_at=started,
        ended_at=ended,
        usage=s.Usage(
            tokens_in=usage.get("tokens_in", 0),
            tokens_out=usage.get("tokens_out", 0),
            llm_calls=usage.get("llm_calls", 0),
            tool_calls=usage.get("tool_calls", 0),
            syscalls=usage.get("syscalls", 0),
            queue_time_s=usage.get("queue_time_s", 0.0),
            wall_time_s=(ended - started) if started and ended else 0.0,
        ),
        error=row["error"],
        result=json.loads(row["result"]) if row.get("result") else None,
        restarts=row["restarts"],
    )


def syscall_name(call_json: str) -> str:
    """The record type of a journaled call, read from the start of its JSON."""
    match = _TYPE.match(call_json)
    return match.group(1) if match else "?"
