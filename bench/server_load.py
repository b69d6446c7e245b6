"""Server load: 200 concurrent HTTP clients mixing chat completions and agent spawns.

The server runs in its own OS process (so clients and server do not share one GIL) on
loopback, over a `LatencyModel` (time to first token, then a steady token rate, no
batch limit: the model is never the bottleneck, the OS is). Clients are asyncio tasks
with one keep-alive connection each; the run is bounded both in requests and in time.

Request mix: chat completions (plain), streamed chat completions, and spawns of a small
agent that makes one model call of its own (so agents and API clients share the model
through the scheduler while the load runs).

Reported, side by side in one run:
- per request kind and overall: requests/s, p50 / p99 latency at the client, errors;
- `direct`: the same number of model calls made on the backend directly, in-process, at
  the same concurrency — what a request would cost without the OS;
- the overhead per chat request, three ways: at the client (p50 through the server minus
  p50 direct), in the server (mean HTTP request time minus mean backend time) and in the
  kernel alone (mean LLMCall syscall time minus mean backend time), the last two from the
  server's own Prometheus metrics and a timer around the backend.

Prints a table and writes JSON (`--json PATH`); `--quick` is a short run for CI.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from llmagentos.llm.types import LLMRequest, LLMResponse, Message
from llmagentos.testing import LatencyModel

PROFILE = {"ttft_s": 0.02, "tokens_per_s": 400.0, "output_tokens": 16}
MIX = (("chat", 0.6), ("stream", 0.2), ("spawn", 0.2))
USER = [{"role": "user", "content": "summarise the quarterly report in one line"}]
CHAT = {"model": "m", "messages": USER}
STREAM = {"model": "m", "messages": USER, "stream": True}


# -- the server process -----------------------------------------------------------------


class TimedModel(LatencyModel):
    """The latency model with a clock around each call: the backend's own time."""

    def __init__(self, **profile: Any) -> None:
        super().__init__(**profile, max_concurrency=100_000, record=False)
        self.seconds: list[float] = []

    async def complete(self, request: LLMRequest) -> LLMResponse:
        t0 = time.perf_counter()
        try:
            return await super().complete(request)
        finally:
            self.seconds.append(time.perf_counter() - t0)


async def bench_agent(ctx: Any) -> str:
    """What a spawn starts: one model call, then exit."""
    reply = await ctx.chat("say something short", max_tokens=8)
    return str(reply.text)


def serve(port: int, state_dir: str) -> None:
    """The server side (`--serve`): a kernel, the app, and a route for the backend timer."""
    from llmagentos import Kernel, KernelConfig
    from llmagentos.server import ServerConfig, create_app
    from llmagentos.server.auth import SCHEMA, KeyStore
    from llmagentos.server.runner import serve as run
    from llmagentos.storage.db import Database

    model = TimedModel(**PROFILE)
    kernel = Kernel(KernelConfig(state_dir=state_dir, recover=False), models={"m": model})
    kernel.register_program("agent", bench_agent)
    app = create_app(kernel, ServerConfig(access_log=False, sample_interval_s=1.0))

    @app.get("/bench/backend", include_in_schema=False)
    async def backend() -> dict[str, Any]:
        s = model.seconds
        return {"calls": len(s), "mean_s": statistics.fmean(s) if s else 0.0}

    db = Database(kernel.config.db_path).open([SCHEMA])
    _, token = KeyStore(db).create("bench", ["admin"])
    db.close()
    print(token, flush=True)  # the parent reads the key from the first line
    run(app, "127.0.0.1", port, log_level="warning", access_log=False)


# -- the clients --------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Connection:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams.

    The load generator shares two cores with the server, so it must be lean: a general
    client (httpx) spends more CPU per request than the server does. Just enough HTTP for
    this API: JSON bodies out, `Content-Length` or chunked bodies back.
    """

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.auth = f"Authorization: Bearer {token}\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        data = json.dumps(body).encode() if body is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n"
        ).encode()
        self.writer.write(head + self.auth + b"\r\n" + data)
        await self.writer.drain()
        lines = (await self.reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = dict(
            (k.strip().lower(), v.strip()) for k, _, v in (ln.partition(b":") for ln in lines[1:])
        )
        if b"content-length" in headers:
            payload = await self.reader.readexactly(int(headers[b"content-length"]))
        else:
            payload = await self._chunked()
        if headers.get(b"connection") == b"close":
            await self.close()
        return status, payload

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await self.reader.readexactly(size + 2)
            if size == 0:
                return b"".join(parts)
            parts.append(chunk[:-2])

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def one_request(conn: Connection, kind: str) -> None:
    if kind == "chat":
        status, data = await conn.request("POST", "/v1/chat/completions", CHAT)
        if status != 200 or not json.loads(data)["choices"][0]["message"]["content"]:
            raise ValueError(f"chat answered {status}: {data[:200]!r}")
    elif kind == "stream":
        status, data = await conn.request("POST", "/v1/chat/completions", STREAM)
        if status != 200 or not data.rstrip().endswith(b"data: [DONE]"):
            raise ValueError(f"stream answered {status}: {data[-200:]!r}")
    else:
        status, data = await conn.request("POST", "/api/processes", {"program": "agent"})
        if status != 201:
            raise ValueError(f"spawn answered {status}: {data[:200]!r}")


async def load(
    url: str, token: str, clients: int, requests: int, duration_s: float, seed: int
) -> dict[str, Any]:
    rng = random.Random(seed)
    kinds = [k for k, _ in MIX]
    plan = rng.choices(kinds, weights=[w for _, w in MIX], k=requests)
    latencies: dict[str, list[float]] = {k: [] for k in kinds}
    errors: dict[str, int] = {k: 0 for k in kinds}
    samples: list[str] = []
    deadline = time.monotonic() + duration_s
    port = int(url.rpartition(":")[2])
    start = asyncio.Event()

    async def worker() -> None:
        conn = Connection(port, token)
        await start.wait()
        try:
            while plan and time.monotonic() < deadline:
                kind = plan.pop()
                t0 = time.perf_counter()
                try:
                    await one_request(conn, kind)
                except Exception as exc:  # counted and shown, never hidden
                    errors[kind] += 1
                    await conn.close()
                    if len(samples) < 5:
                        samples.append(f"{kind}: {type(exc).__name__}: {exc}")
                    continue
                latencies[kind].append(time.perf_counter() - t0)
        finally:
            await conn.close()

    # Warm-up, outside the clock: the first request of each kind builds the routes' models,
    # the key's operator process and the agent program's module.
    warm = Connection(port, token)
    for kind in kinds:
        await one_request(warm, kind)
    await warm.close()
    tasks = [asyncio.create_task(worker()) for _ in range(clients)]
    t0 = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - t0
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        await _drain_agents(client)
        metrics = (await client.get("/metrics")).text
        backend = (await client.get("/bench/backend")).json()
    return {
        "wall_s": wall,
        "latencies": latencies,
        "errors": errors,
        "error_samples": samples,
        "metrics": metrics,
        "backend": backend,
        "unsent": len(plan),
    }


async def _drain_agents(client: httpx.AsyncClient, timeout_s: float = 60.0) -> None:
    """Wait until every spawned agent has ended (they share the model with the load)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        live = (await client.get("/api/processes", params={"all": False})).json()
        if all(p["program"].startswith("api:") for p in live):
            return
        await asyncio.sleep(0.2)


async def direct(calls: int, clients: int) -> list[float]:
    """The same model calls, straight to the backend at the same concurrency."""
    model = TimedModel(**PROFILE)
    request = LLMRequest(messages=(Message(role="user", content=USER[0]["content"]),))
    latencies: list[float] = []
    todo = list(range(calls))

    async def worker() -> None:
        while todo:
            todo.pop()
            t0 = time.perf_counter()
            await model.complete(request)
            latencies.append(time.perf_counter() - t0)

    await asyncio.gather(*(worker() for _ in range(clients)))
    return latencies


def metric_mean(text: str, name: str, labels: dict[str, str]) -> float:
    """Mean of a Prometheus histogram series (`_sum` / `_count`) with these labels."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        for part in ("_sum", "_count"):
            prefix = f"{name}{part}{{"
            if line.startswith(prefix) and all(f'{k}="{v}"' in line for k, v in labels.items()):
                values[part] = float(line.rpartition(" ")[2])
    return values["_sum"] / values["_count"] if values.get("_count") else float("nan")


# -- the run ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far (Linux; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(state_dir: str) -> tuple[subprocess.Popen[str], str, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--state-dir", state_dir],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    token = proc.stdout.readline().strip()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url, token
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the server did not start")


def report(
    run: dict[str, Any], direct_lat: list[float], args: argparse.Namespace
) -> dict[str, Any]:
    lat, errors = run["latencies"], run["errors"]
    rows: dict[str, dict[str, Any]] = {}
    everything = [x for v in lat.values() for x in v]
    for kind, values in [*lat.items(), ("all", everything)]:
        errs = sum(errors.values()) if kind == "all" else errors[kind]
        rows[kind] = {
            "requests": len(values),
            "req_per_s": round(len(values) / run["wall_s"], 1),
            "p50_ms": round(percentile(values, 0.5) * 1000, 2),
            "p99_ms": round(percentile(values, 0.99) * 1000, 2),
            "errors": errs,
        }
    rows["direct"] = {
        "requests": len(direct_lat),
        "req_per_s": None,
        "p50_ms": round(percentile(direct_lat, 0.5) * 1000, 2),
        "p99_ms": round(percentile(direct_lat, 0.99) * 1000, 2),
        "errors": 0,
    }
    backend_ms = run["backend"]["mean_s"] * 1000
    http_ms = 1000 * metric_mean(
        run["metrics"],
        "llmagentos_http_request_duration_seconds",
        {"route": "/v1/chat/completions"},
    )
    kernel_ms = 1000 * metric_mean(
        run["metrics"], "llmagentos_syscall_duration_seconds", {"name": "LLMCall"}
    )
    overhead = {
        "client_p50_ms": round(rows["chat"]["p50_ms"] - rows["direct"]["p50_ms"], 2),
        "server_mean_ms": round(http_ms - backend_ms, 3),
        "kernel_mean_ms": round(kernel_ms - backend_ms, 3),
        "backend_mean_ms": round(backend_ms, 3),
        # Includes the spawned agents' own work and the server's drain and scrape requests.
        "server_cpu_ms_per_request": round(1000 * run["server_cpu_s"] / max(1, len(everything)), 3),
    }
    return {
        "benchmark": "server_load",
        "clients": args.clients,
        "requests_planned": args.requests,
        "unsent": run["unsent"],
        "wall_s": round(run["wall_s"], 2),
        "profile": PROFILE,
        "mix": dict(MIX),
        "results": rows,
        "overhead": overhead,
        "errors": sum(errors.values()),
        "error_samples": run["error_samples"],
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }


def print_table(result: dict[str, Any], console: Console) -> None:
    table = Table(
        title=f"server load: {result['clients']} clients, {result['wall_s']} s, "
        f"LatencyModel ttft {PROFILE['ttft_s'] * 1000:.0f} ms + "
        f"{PROFILE['output_tokens']} tokens at {PROFILE['tokens_per_s']:.0f}/s"
    )
    for col in ("kind", "requests", "req/s", "p50 ms", "p99 ms", "errors"):
        table.add_column(col, justify="left" if col == "kind" else "right")
    for kind, r in result["results"].items():
        table.add_row(
            kind,
            str(r["requests"]),
            "-" if r["req_per_s"] is None else f"{r['req_per_s']:,.1f}",
            f"{r['p50_ms']:.1f}",
            f"{r['p99_ms']:.1f}",
            str(r["errors"]),
        )
    console.print(table)
    o = result["overhead"]
    parts = [
        f"client p50 +{o['client_p50_ms']:.1f} ms vs direct",
        f"in the server +{o['server_mean_ms']:.2f} ms (HTTP, auth, kernel)",
        f"in the kernel +{o['kernel_mean_ms']:.2f} ms (backend mean {o['backend_mean_ms']:.1f} ms)",
        f"server CPU {o['server_cpu_ms_per_request']:.2f} ms per request",
    ]
    console.print("overhead per chat request: " + "; ".join(parts))
    for sample in result["error_samples"]:
        console.print(f"[red]error:[/] {sample}", markup=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--duration", type=float, default=120.0, help="stop after (seconds)")
    parser.add_argument("--quick", action="store_true", help="a short run (600 requests)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--state-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.state_dir)
        return
    if args.quick:
        args.requests, args.duration = min(args.requests, 600), min(args.duration, 45.0)
    console = Console()
    with tempfile.TemporaryDirectory(prefix="llmagentos-load-") as state:
        server, url, token = start_server(state)
        try:
            cpu0 = cpu_seconds(server.pid)
            run = asyncio.run(
                load(url, token, args.clients, args.requests, args.duration, args.seed)
            )
            run["server_cpu_s"] = cpu_seconds(server.pid) - cpu0
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
    chats = len(run["latencies"]["chat"]) or 1
    direct_lat = asyncio.run(direct(chats, args.clients))
    result = report(run, direct_lat, args)
    print_table(result, console)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if result["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
