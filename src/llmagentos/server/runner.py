"""Running the app under uvicorn: in the foreground (`serve`) or on a thread (`ServerThread`).

`ServerThread` gives tests, benchmarks and embedding programs a real HTTP server on
loopback: it binds the socket itself (port 0 picks a free port, known before the server
starts), runs uvicorn with its own event loop on a background thread, and lets the caller
run coroutines on that loop (`call`), where the kernel lives.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI

T = TypeVar("T")
GRACEFUL_S = 5.0  # open event streams are cut after this long at shutdown


def _config(app: FastAPI, log_level: str, **options: Any) -> uvicorn.Config:
    options.setdefault("timeout_graceful_shutdown", GRACEFUL_S)
    return uvicorn.Config(app, log_level=log_level, lifespan="on", **options)


def serve(app: FastAPI, host: str, port: int, *, log_level: str = "info", **options: Any) -> None:
    """Serve `app` until SIGINT/SIGTERM; the kernel shuts down cleanly either way."""
    uvicorn.Server(_config(app, log_level, host=host, port=port, **options)).run()


class ServerThread:
    """A uvicorn server for `app` on a background thread; see the module docstring."""

    def __init__(
        self,
        app: FastAPI,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log_level: str = "warning",
        **options: Any,
    ) -> None:
        self.app = app
        self.host = host
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        # Open event streams would hold a stop for the full grace period of `serve`.
        options.setdefault("timeout_graceful_shutdown", 1.0)
        self.port: int = self._sock.getsockname()[1]
        self._server = uvicorn.Server(_config(app, log_level, **options))
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 30.0) -> str:
        """Start serving; returns the base URL once the app (and its kernel) is up."""
        self._thread = threading.Thread(target=self._run, name="llmagentos-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the server did not start: {self._error!r}") from self._error
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the server did not start within {timeout_s}s")
            time.sleep(0.01)
        return self.url

    def _run(self) -> None:
        loop = self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._server.serve(sockets=[self._sock]))
        except BaseException as exc:  # reported by start() / stop()
            self._error = exc
        finally:
            loop.close()

    def call(self, coro: Coroutine[Any, Any, T], timeout_s: float = 30.0) -> T:
        """Run `coro` on the server's event loop (where the kernel runs) and return its result."""
        if self.loop is None or not self._server.started:
            coro.close()
            raise RuntimeError("the server is not running")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def stop(self, timeout_s: float = 30.0) -> None:
        """Shut down (the app's lifespan stops the kernel); safe to call twice."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self._sock.close()

    def __enter__(self) -> ServerThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
