"""OpenTelemetry spans for system calls, fed by the kernel's observer hook (off by default).

Each finished syscall becomes one span `syscall <Type>` with its real start and end times
and the process, program, kind, sequence number and outcome as attributes. The tracer
provider is the server's own, so enabling tracing here never changes a global one the
host application set up. Exporters: `console`, `otlp` (needs the
`opentelemetry-exporter-otlp` package), or `memory` (kept in `SpanTracer.memory`, for tests).
"""

from __future__ import annotations

from typing import Any

from llmagentos.errors import InvalidArgument
from llmagentos.kernel.events import SyscallTrace


class SpanTracer:
    """Turns `SyscallTrace`s into OpenTelemetry spans; `observe` is the kernel observer."""

    def __init__(self, exporter: str, service_name: str = "llmagentos") -> None:
        try:
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
        except ImportError:
            raise InvalidArgument(
                "tracing needs OpenTelemetry: pip install 'llmagentos[otel]'"
            ) from None
        from opentelemetry.trace import Status, StatusCode

        self._status_error = Status(StatusCode.ERROR)
        self.memory: Any = None
        self.provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        span_exporter = self._exporter(exporter)
        # In memory, spans are wanted at once; other exporters batch off the event loop.
        processor = SimpleSpanProcessor if exporter == "memory" else BatchSpanProcessor
        self.provider.add_span_processor(processor(span_exporter))
        self.tracer = self.provider.get_tracer("llmagentos.kernel")

    def _exporter(self, kind: str) -> Any:
        if kind == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            return ConsoleSpanExporter()
        if kind == "memory":
            from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
                InMemorySpanExporter,
            )

            self.memory = InMemorySpanExporter()
            return self.memory
        if kind == "otlp":
            try:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                    OTLPSpanExporter,
                )
            except ImportError:
                raise InvalidArgument(
                    "--otel otlp needs the opentelemetry-exporter-otlp package"
                ) from None
            return OTLPSpanExporter()
        raise InvalidArgument(f"unknown OpenTelemetry exporter {kind!r}: console, otlp or memory")

    def observe(self, trace: SyscallTrace) -> None:
        start = int(trace.started_at * 1e9)
        span = self.tracer.start_span(
            f"syscall {trace.name}",
            start_time=start,
            attributes={
                "llmagentos.pid": trace.pid,
                "llmagentos.program": trace.program,
                "llmagentos.syscall": trace.name,
                "llmagentos.kind": trace.kind,
                "llmagentos.seq": trace.seq,
                "llmagentos.replayed": trace.replayed,
                "llmagentos.ok": trace.ok,
            },
        )
        if not trace.ok:
            span.set_status(self._status_error)
            span.set_attribute("error.type", trace.error_type or "unknown")
        span.end(end_time=start + int(trace.duration_s * 1e9))

    def shutdown(self) -> None:
        self.provider.shutdown()
