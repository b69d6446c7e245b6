"""Request-body limits: oversized bodies get 413 and stalled ones 408, before any route.

Pure ASGI so that it can answer while the body is still arriving: a declared
`Content-Length` over the limit is refused before a byte is read, a chunked body is cut off
as soon as it passes the limit, and a client that stops sending mid-body is answered
after the timeout instead of holding a worker. Other connections are served meanwhile.
Once the body is in, nothing is limited: a long-lived response (an event stream) may
wait on the connection for as long as it likes.
"""

from __future__ import annotations

import asyncio
import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from llmagentos.server.config import ServerConfig

# A refused body up to this many times the limit is read to its end before the answer.
DRAIN_FACTOR = 4


class _Refused(HTTPException):
    # An HTTPException, so that FastAPI's body parsing passes it on to the error handlers
    # (it turns any other exception raised while reading a body into a 400).
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, message)
        self.status, self.code, self.message = status, code, message


def _body(path: str, code: str, message: str) -> bytes:
    if path.startswith("/v1/"):
        error = {"message": message, "type": "invalid_request_error", "param": None, "code": code}
    else:
        error = {"type": code, "code": code, "message": message, "details": None}
    return json.dumps({"error": error}).encode()


class BodyLimits:
    """Refuses request bodies over `config.max_body_bytes` (413) or slower than
    `config.body_timeout_s` between chunks (408); both are read per request."""

    def __init__(self, app: ASGIApp, config: ServerConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes, timeout_s = self.config.max_body_bytes, self.config.body_timeout_s
        declared = _content_length(scope)
        if declared is not None and declared > max_bytes:
            refusal = _Refused(
                413,
                "request_too_large",
                f"request body of {declared} bytes is over the {max_bytes}-byte limit",
            )
            if declared <= DRAIN_FACTOR * max_bytes:
                await _drain(receive, timeout_s)
            await self._refuse(scope, send, refusal, started=False)
            return
        seen = 0
        started = False
        body_done = False

        async def limited_receive() -> Message:
            nonlocal seen, body_done
            if body_done:
                # Past the body, receive() only waits for the client to leave (streaming
                # responses listen for that): no limit applies.
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), timeout_s)
            except TimeoutError:
                raise _Refused(
                    408,
                    "request_timeout",
                    f"the request body did not arrive within {timeout_s}s",
                ) from None
            if message["type"] == "http.request":
                body_done = not message.get("more_body", False)
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    raise _Refused(
                        413,
                        "request_too_large",
                        f"request body is over the {max_bytes}-byte limit",
                    )
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _Refused as refusal:
            if refusal.status == 413 and not body_done and seen <= DRAIN_FACTOR * max_bytes:
                await _drain(receive, timeout_s, DRAIN_FACTOR * max_bytes - seen)
            await self._refuse(scope, send, refusal, started=started)

    async def _refuse(self, scope: Scope, send: Send, refusal: _Refused, *, started: bool) -> None:
        if started:
            return  # a response is under way; the connection ends with what was sent
        body = _body(scope.get("path", ""), refusal.code, refusal.message)
        await send(
            {
                "type": "http.response.start",
                "status": refusal.status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def _drain(receive: Receive, timeout_s: float, budget: int | None = None) -> None:
    """Read and drop the rest of a refused body (at most `budget` bytes).

    Closing a connection while the client is still sending makes its kernel answer with
    a reset, which can destroy the refusal before the client reads it; reading a
    moderately oversized body to its end first lets the client see the 413.
    """
    left = budget
    while True:
        try:
            message = await asyncio.wait_for(receive(), timeout_s)
        except TimeoutError:
            return
        if message["type"] != "http.request":
            return
        if left is not None:
            left -= len(message.get("body", b""))
            if left < 0:
                return
        if not message.get("more_body", False):
            return


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
