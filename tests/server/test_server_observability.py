"""Observability: Prometheus metrics, OpenTelemetry spans, structured logs, `llmagentos top`."""

from __future__ import annotations

import io
import json
import logging
import time
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from server_workload import Served, served_iter

from llmagentos.cli.top import top
from llmagentos.server import ServerConfig
from llmagentos.server.jsonlog import JsonFormatter, configure


def _run_agents(served: Served, n: int = 2) -> list[int]:
    c = served.client()
    pids = [
        c.post("/api/processes", json={"program": "chatty", "args": {"rounds": 2}}).json()["pid"]
        for _ in range(n)
    ]
    for pid in pids:
        assert c.get(f"/api/processes/{pid}/wait").json()["state"] == "done"
    return pids


def _samples(text: str, name: str) -> dict[str, float]:
    """`{labels: value}` of one metric in Prometheus text format."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            key, _, value = line.rpartition(" ")
            out[key[len(name) :]] = float(value)
    return out


def test_prometheus_metrics(served: Served) -> None:
    _run_agents(served)
    c = served.client()
    c.post("/api/processes/424242/kill")  # an error answer, counted by route and status
    r = c.get("/metrics")
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    calls = _samples(text, "llmagentos_syscalls_total")
    assert calls['{kind="llm",name="LLMCall",outcome="ok"}'] >= 4
    assert calls['{kind="process",name="Spawn",outcome="ok"}'] == 2
    latency = _samples(text, "llmagentos_syscall_duration_seconds_count")
    assert latency['{kind="llm",name="LLMCall"}'] >= 4
    tokens = _samples(text, "llmagentos_tokens_total")
    assert tokens['{direction="out",program="chatty"}'] == 2 * 2 * 6
    states = _samples(text, "llmagentos_processes")
    assert states['{state="done"}'] == 2
    assert '{resource="llm:latency"}' in _samples(text, "llmagentos_queue_depth")
    assert '{resource="llm:latency"}' in _samples(text, "llmagentos_in_flight")
    http = _samples(text, "llmagentos_http_requests_total")
    assert http['{method="POST",route="/api/processes/{pid}/kill",status="404"}'] == 1
    assert "# TYPE llmagentos_llm_batch_size histogram" in text


def test_errors_are_counted_by_type(served: Served) -> None:
    c = served.client()
    c.put("/api/kv/k", json={"value": 1}, params={"namespace": "x"})  # allowed for admin
    narrow = served.client(served.key("narrow", ["operate"], programs=("*",)))
    from llmagentos.kernel.syscalls import Capabilities
    from llmagentos.records import replace

    limited = served.key("limited", ["operate"], caps=replace(Capabilities(), namespaces=()))
    r = served.client(limited).put("/api/kv/k", json={"value": 1}, params={"namespace": "x"})
    assert r.status_code == 403
    assert narrow.get("/api/whoami").status_code == 200
    errors = _samples(c.get("/metrics").text, "llmagentos_syscall_errors_total")
    assert errors['{error_type="PermissionDenied",name="KVPut"}'] == 1


def test_opentelemetry_spans_per_syscall(tmp_path: Path) -> None:
    gen = served_iter(tmp_path / "s", config=ServerConfig(access_log=False, otel="memory"))
    served = next(gen)
    try:
        (pid,) = _run_agents(served, 1)
        spans = served.state.tracer.memory.get_finished_spans()
        mine = [s for s in spans if s.attributes["llmagentos.pid"] == pid]
        assert [s.name for s in mine] == [
            "syscall LLMCall",
            "syscall Sleep",
            "syscall LLMCall",
            "syscall Sleep",
        ]
        first = mine[0]
        assert first.attributes["llmagentos.kind"] == "llm"
        assert first.attributes["llmagentos.program"] == "chatty"
        assert first.end_time > first.start_time
        assert first.resource.attributes["service.name"] == "llmagentos"
    finally:
        gen.close()


def test_tracing_is_off_by_default(served: Served) -> None:
    assert served.state.tracer is None


def test_json_log_lines() -> None:
    record = logging.LogRecord(
        "llmagentos.server", logging.INFO, "f.py", 1, "hello %s", ("x",), None
    )
    record.route = "/api/processes"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello x" and line["route"] == "/api/processes"
    assert line["level"] == "info" and line["logger"] == "llmagentos.server"


def test_access_log_is_structured(tmp_path: Path) -> None:
    configure(json_lines=True)
    logger = logging.getLogger("llmagentos")
    stream = io.StringIO()
    logger.handlers[0].setStream(stream)  # type: ignore[attr-defined]
    gen = served_iter(tmp_path / "s", config=ServerConfig(access_log=True))
    served = next(gen)
    try:
        served.client().get("/api/processes")
        # The access line is written by the server thread after the response is sent.
        deadline = time.monotonic() + 5
        access: list[dict[str, Any]] = []
        while not access and time.monotonic() < deadline:
            entries = [json.loads(line) for line in stream.getvalue().splitlines() if line]
            access = [e for e in entries if e["logger"] == "llmagentos.server.access"]
            time.sleep(0.02)
        assert access, stream.getvalue()[-2000:]
        assert access[-1]["route"] == "/api/processes" and access[-1]["status"] == 200
        assert access[-1]["key"] == "admin" and access[-1]["duration_ms"] >= 0
    finally:
        gen.close()
        for name in ("llmagentos", "uvicorn.error"):
            logging.getLogger(name).handlers.clear()
            logging.getLogger(name).propagate = True


def test_top_shows_the_process_table(served: Served) -> None:
    pids = _run_agents(served)
    runner = CliRunner(env={"COLUMNS": "200"})
    out = runner.invoke(top, ["--url", served.url, "--key", served.admin, "--once", "--all"])
    assert out.exit_code == 0, out.output
    assert "chatty" in out.output and str(pids[0]) in out.output
    assert "llm:latency" in out.output and "tok/s" in out.output
    bad = runner.invoke(top, ["--url", served.url, "--key", "lak_nope", "--once"])
    assert bad.exit_code != 0 and "refused" in bad.output
    missing = runner.invoke(top, ["--url", served.url, "--once"], env={"LLMAGENTOS_API_KEY": ""})
    assert missing.exit_code != 0


def test_top_reads_a_state_directory(served: Served) -> None:
    _run_agents(served, 1)
    state_dir = str(served.kernel.config.state_dir)
    out = CliRunner(env={"COLUMNS": "200"}).invoke(
        top, ["--state-dir", state_dir, "--once", "--all"]
    )
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())  # the long title may wrap
    assert "chatty" in text and "(kernel running)" in text
