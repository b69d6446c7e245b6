"""FastAPI dependencies: the server state, and API-key authentication with scopes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from llmagentos.errors import ProcessExit
from llmagentos.kernel.syscalls import Syscall
from llmagentos.server.auth import ApiKey, Scope
from llmagentos.server.errors import HTTPError
from llmagentos.server.state import ServerState

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="APIKey",
    description="An llmagentos API key: `Authorization: Bearer lak_...`",
)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def server(request: Request) -> ServerState:
    # async on purpose: FastAPI runs a plain `def` dependency in a worker thread.
    state: ServerState = request.app.state.server
    return state


def state_of(request: Request) -> ServerState:
    state: ServerState = request.app.state.server
    return state


def require(scope: Scope) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency that admits requests whose API key holds `scope`."""

    async def authenticated(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> ApiKey:
        if credentials is None:
            raise HTTPError(
                401,
                "an API key is required: send `Authorization: Bearer <key>`",
                "missing_api_key",
                _CHALLENGE,
            )
        key = state_of(request).keys.authenticate(credentials.credentials)
        if key is None:
            raise HTTPError(401, "invalid or revoked API key", "invalid_api_key", _CHALLENGE)
        request.state.key = key
        if not key.allows(scope):
            raise HTTPError(
                403, f"API key {key.name!r} lacks the {scope!r} scope", "insufficient_scope"
            )
        state_of(request).limiter.admit_request(key)  # 429 past its requests per minute
        return key

    return authenticated


State = Annotated[ServerState, Depends(server)]
ReadKey = Annotated[ApiKey, Depends(require("read"))]
OperateKey = Annotated[ApiKey, Depends(require("operate"))]
AdminKey = Annotated[ApiKey, Depends(require("admin"))]


async def operator_call(state: ServerState, key: ApiKey, call: Syscall) -> Any:
    """Issue `call` as a system call of the key's operator process."""
    ctx = await state.operators.context(key)
    try:
        return await ctx.call(call)
    except ProcessExit:
        # The operator was killed (or the kernel is stopping) while the call ran.
        raise HTTPError(
            503, "the key's operator process stopped; retry", "operator_stopped"
        ) from None
