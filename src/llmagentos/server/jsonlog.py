"""Structured logs: one JSON object per line, and an ASGI middleware for access logs.

`configure(json_lines=True)` makes the `llmagentos` loggers write JSON (time, level,
logger, message, and any `extra=` fields); the access middleware logs each request with
its method, route, status, duration and key name, and counts it in the HTTP metrics.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line; fields passed with `extra=` are kept."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 6),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


LOGGERS = ("llmagentos", "uvicorn.error")


def configure(json_lines: bool = True, level: int = logging.INFO) -> None:
    """Send the server's logs (ours and uvicorn's errors) to stderr, as JSON lines or text.

    Run uvicorn with `log_config=None` so that it keeps these handlers."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False


access_log = logging.getLogger("llmagentos.server.access")
HttpObserver = Callable[[str, str, int, float], None]


class AccessLog:
    """Logs and measures every HTTP request (pure ASGI: streaming responses pass through)."""

    def __init__(self, app: ASGIApp, observe: HttpObserver | None = None, log: bool = True):
        self.app = app
        self.observe = observe
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - t0
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            if self.observe is not None:
                self.observe(scope["method"], template, status, elapsed)
            if self.log and access_log.isEnabledFor(logging.INFO):
                state = scope.get("state") or {}
                key = state.get("key")
                access_log.info(
                    "%s %s %d",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": template,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 3),
                        "key": getattr(key, "name", None),
                        "client": (scope.get("client") or ("", 0))[0],
                    },
                )
