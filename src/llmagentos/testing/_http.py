"""A minimal HTTP/1.1 server on asyncio streams: just enough for the loopback OpenAI server.

Keep-alive, `Content-Length` request bodies, plain and chunked responses. Not for production.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

MAX_BODY = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """A parsed request; header names are lowercase."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HttpError(Exception):
    """A request the server cannot parse; answered with `status` and the connection closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _head(status: int, headers: Mapping[str, str]) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Status"
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class ResponseWriter:
    """Writes one response: `send` a whole body, or `start_stream` / `write` / `end_stream`."""

    def __init__(self, writer: asyncio.StreamWriter, *, keep_alive: bool) -> None:
        self._writer = writer
        self.keep_alive = keep_alive
        self.started = False

    def _headers(self, content_type: str, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {
            "Content-Type": content_type,
            "Connection": "keep-alive" if self.keep_alive else "close",
        }
        return headers | dict(extra or {})

    async def send(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        all_headers = self._headers(content_type, headers) | {"Content-Length": str(len(body))}
        self.started = True
        self._writer.write(_head(status, all_headers) + body)
        await self._writer.drain()

    async def start_stream(
        self,
        status: int = 200,
        *,
        content_type: str = "text/event-stream",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        all_headers = self._headers(content_type, headers) | {"Transfer-Encoding": "chunked"}
        all_headers["Cache-Control"] = "no-cache"
        self.started = True
        self._writer.write(_head(status, all_headers))
        await self._writer.drain()

    async def write(self, data: bytes) -> None:
        if data:
            self._writer.write(b"%x\r\n%s\r\n" % (len(data), data))
            await self._writer.drain()

    async def end_stream(self) -> None:
        self._writer.write(b"0\r\n\r\n")
        await self._writer.drain()


Handler = Callable[[HttpRequest, ResponseWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    """Read one request; None when the client closed the connection between requests."""
    try:
        line = await reader.readline()
    except (asyncio.LimitOverrunError, ValueError):
        raise HttpError(431, "request line too long") from None
    if not line:
        return None
    parts = line.decode("latin-1").strip().split()
    if len(parts) != 3:
        raise HttpError(400, "bad request line")
    method, path, _version = parts
    headers: dict[str, str] = {}
    while True:
        raw = await reader.readline()
        if raw in (b"\r\n", b"\n", b""):
            break
        name, sep, value = raw.decode("latin-1").partition(":")
        if not sep:
            raise HttpError(400, "bad header line")
        headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise HttpError(411, "chunked request bodies are not supported")
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise HttpError(400, "bad Content-Length") from None
    if length < 0 or length > MAX_BODY:
        raise HttpError(413, "request body too large")
    body = await reader.readexactly(length) if length else b""
    return HttpRequest(method=method.upper(), path=path, headers=headers, body=body)


async def serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: Handler
) -> None:
    """Serve requests on one connection until the client closes it or asks to."""
    try:
        while True:
            request = await read_request(reader)
            if request is None:
                break
            keep_alive = request.headers.get("connection", "").lower() != "close"
            response = ResponseWriter(writer, keep_alive=keep_alive)
            await handler(request, response)
            if not response.keep_alive:
                break
    except HttpError as exc:
        body = json.dumps({"error": {"message": str(exc), "type": "invalid_request_error"}})
        with suppress(ConnectionError):
            await ResponseWriter(writer, keep_alive=False).send(exc.status, body.encode())
    except (ConnectionError, asyncio.IncompleteReadError):
        pass  # the client went away; nothing to answer
    finally:
        writer.close()
        with suppress(ConnectionError):
            await writer.wait_closed()
