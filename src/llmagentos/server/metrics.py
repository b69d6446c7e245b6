"""Prometheus metrics: counters fed by the syscall observer, gauges read at scrape time.

Each app has its own `CollectorRegistry`, so several servers (or tests) in one Python
process never share or clash over metrics. Label values are bounded: syscall types, kinds,
error types, resources, process states and programs (never pids or free text).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from llmagentos.kernel.events import SyscallTrace

if TYPE_CHECKING:
    from llmagentos.kernel.kernel import Kernel
    from llmagentos.server.telemetry import Telemetry

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
)


class Metrics:
    """The server's metrics; `observe` is registered as a kernel observer."""

    def __init__(self, kernel: Kernel, telemetry: Telemetry) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.syscalls = Counter(
            "llmagentos_syscalls", "System calls served", ["name", "kind", "outcome"], registry=r
        )
        self.latency = Histogram(
            "llmagentos_syscall_duration_seconds",
            "Time from a syscall's entry to its answer",
            ["name", "kind"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "llmagentos_syscall_errors", "Syscalls that raised", ["name", "error_type"], registry=r
        )
        self.batch = Histogram(
            "llmagentos_llm_batch_size",
            "Model calls in flight on a model resource (sampled)",
            ["resource"],
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=r,
        )
        self.http = Counter(
            "llmagentos_http_requests", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self.http_latency = Histogram(
            "llmagentos_http_request_duration_seconds",
            "HTTP request latency (to the end of the response)",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        r.register(_KernelCollector(kernel, telemetry))
        # Label lookups cost a lock and a dict walk; the observer runs on every syscall.
        self._children: dict[tuple[str, str, bool], tuple[Counter, Histogram]] = {}

    def observe(self, trace: SyscallTrace) -> None:
        key = (trace.name, trace.kind, trace.ok)
        pair = self._children.get(key)
        if pair is None:
            outcome = "ok" if trace.ok else "error"
            pair = (
                self.syscalls.labels(trace.name, trace.kind, outcome),
                self.latency.labels(trace.name, trace.kind),
            )
            self._children[key] = pair
        pair[0].inc()
        pair[1].observe(trace.duration_s)
        if not trace.ok:
            self.errors.labels(trace.name, trace.error_type or "unknown").inc()

    def observe_batches(self, sizes: dict[str, int]) -> None:
        for resource, n in sizes.items():
            self.batch.labels(resource).observe(n)

    def observe_http(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http.labels(method, route, str(status)).inc()
        self.http_latency.labels(route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _KernelCollector(Collector):
    """Gauges and per-program usage, read from the kernel when Prometheus scrapes."""

    def __init__(self, kernel: Kernel, telemetry: Telemetry) -> None:
        self.kernel = kernel
        self.telemetry = telemetry

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # dynamic: nothing to check at registration

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        states = GaugeMetricFamily("llmagentos_processes", "Processes by state", labels=["state"])
        tokens = CounterMetricFamily(
            "llmagentos_tokens",
            "Tokens used, by program and direction",
            labels=["program", "direction"],
        )
        calls = CounterMetricFamily(
            "llmagentos_program_calls",
            "Model and tool calls by program",
            labels=["program", "kind"],
        )
        by_state: dict[str, int] = {}
        usage: dict[str, list[int]] = {}
        for info in self.kernel.ps():
            by_state[info.state] = by_state.get(info.state, 0) + 1
            u = usage.setdefault(info.program, [0, 0, 0, 0])
            u[0] += info.usage.tokens_in
            u[1] += info.usage.tokens_out
            u[2] += info.usage.llm_calls
            u[3] += info.usage.tool_calls
        for state, n in sorted(by_state.items()):
            states.add_metric([state], n)
        for program, (tin, tout, llm, tool) in sorted(usage.items()):
            tokens.add_metric([program, "in"], tin)
            tokens.add_metric([program, "out"], tout)
            calls.add_metric([program, "llm"], llm)
            calls.add_metric([program, "tool"], tool)
        yield states
        yield tokens
        yield calls
        yield from self._scheduler()

    def _scheduler(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        stats = self.kernel.scheduler.stats()
        depth = GaugeMetricFamily(
            "llmagentos_queue_depth", "Calls queued per resource", labels=["resource"]
        )
        running = GaugeMetricFamily(
            "llmagentos_in_flight", "Calls running per resource", labels=["resource"]
        )
        waited = GaugeMetricFamily(
            "llmagentos_queue_oldest_wait_seconds",
            "Age of the oldest queued call",
            labels=["resource"],
        )
        for res in stats.resources:
            depth.add_metric([res.resource], res.queued)
            running.add_metric([res.resource], res.in_flight)
            waited.add_metric([res.resource], res.oldest_wait_s)
        rejected = CounterMetricFamily(
            "llmagentos_scheduler_rejected", "Calls the scheduler refused"
        )
        rejected.add_metric([], stats.rejected)
        kernel_errors = CounterMetricFamily(
            "llmagentos_kernel_errors", "Failures of the kernel's own machinery", labels=["where"]
        )
        for key, n in sorted(self.kernel.stats.items()):
            if key.startswith("errors:"):
                kernel_errors.add_metric([key.removeprefix("errors:")], n)
        yield from (depth, running, waited, rejected, kernel_errors)
