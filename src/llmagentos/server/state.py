"""The server's state: the kernel it serves, keys, operators, telemetry; start and stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from llmagentos.kernel.kernel import Kernel
from llmagentos.server import auth
from llmagentos.server.app_loader import AppLoader
from llmagentos.server.config import ServerConfig
from llmagentos.server.metrics import Metrics
from llmagentos.server.operators import OperatorPool
from llmagentos.server.ratelimit import RateLimiter
from llmagentos.server.telemetry import Telemetry
from llmagentos.server.tracing import SpanTracer

log = logging.getLogger("llmagentos.server")
BATCH_SAMPLE_S = 0.1


class ServerState:
    """Everything a request handler reaches through `request.app.state.server`."""

    def __init__(self, kernel: Kernel, config: ServerConfig, *, owns_kernel: bool = True) -> None:
        self.kernel = kernel
        self.config = config
        self.keys = auth.KeyStore(kernel.db, cache_s=config.key_cache_s)
        self.operators = OperatorPool(kernel, self.keys)
        self.apps = AppLoader(kernel)
        self.limiter = RateLimiter()
        self.telemetry = Telemetry(
            kernel, syscalls=config.recent_syscalls, points=config.series_points
        )
        self.metrics = Metrics(kernel, self.telemetry)
        self.tracer: SpanTracer | None = None
        self.started_at = time.time()
        self._owns_kernel = owns_kernel
        self._undo: list[Callable[[], None]] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Boot the kernel (a no-op when it is booted), create the keys table, start sampling."""
        for name in auth.key_names(str(self.kernel.config.db_path)):
            self.operators.register(name)  # before boot, so recovery finds the programs
        await self.kernel.boot()
        try:
            await self._attach()
        except BaseException:
            await self.stop()  # a half-started server must not keep the kernel's lock
            raise

    async def _attach(self) -> None:
        await self.kernel.db.write(auth.create_table)
        self._undo.append(self.kernel.observe(self.telemetry.observe))
        self._undo.append(self.kernel.observe(self.metrics.observe))
        if self.config.otel:
            self.tracer = SpanTracer(self.config.otel)
            self._undo.append(self.kernel.observe(self.tracer.observe))
        self.started_at = time.time()
        self._tasks.append(asyncio.create_task(self._sample(), name="server-sampler"))
        if self.config.log_events:
            self._tasks.append(asyncio.create_task(self._log_events(), name="server-events"))

    async def stop(self) -> None:
        """End the operators, stop sampling, detach observers, and shut the kernel down
        when the server owns it."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        with contextlib.suppress(Exception):
            await self.operators.close()
        for undo in reversed(self._undo):
            with contextlib.suppress(ValueError):
                undo()
        self._undo.clear()
        if self.tracer is not None:
            self.tracer.shutdown()
        if self._owns_kernel:
            await self.kernel.shutdown()

    async def _sample(self) -> None:
        per_token_sample = max(1, round(self.config.sample_interval_s / BATCH_SAMPLE_S))
        ticks = 0
        while True:
            await asyncio.sleep(BATCH_SAMPLE_S)
            ticks += 1
            try:
                self.metrics.observe_batches(self.telemetry.sample_batches())
                if ticks % per_token_sample == 0:
                    self.telemetry.sample_tokens()
                if ticks % (per_token_sample * 10) == 0:
                    await self.operators.flush_usage()
            except Exception:  # sampling must never stop the server
                log.exception("telemetry sampling failed")

    async def _log_events(self) -> None:
        queue = self.kernel.events.subscribe()
        try:
            while True:
                event = await queue.get()
                log.info(
                    "kernel %s pid=%d",
                    event.type,
                    event.pid,
                    extra={"event": event.type, "pid": event.pid, "data": event.data},
                )
        finally:
            self.kernel.events.unsubscribe(queue)
