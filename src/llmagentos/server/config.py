"""Server configuration: what `create_app` and `llmagentos serve` take."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ServerConfig:
    """How the HTTP server behaves. Defaults are safe for a public interface: no CORS, no
    public docs, bounded bodies, every route but `/health` behind an API key."""

    host: str = "127.0.0.1"
    port: int = 8470
    cors_origins: tuple[str, ...] = ()  # empty: no CORS headers at all
    public_docs: bool = False  # True: /docs and /openapi.json without a key
    max_body_bytes: int = 4 * 1024 * 1024
    body_timeout_s: float = 15.0  # a client slower than this between body chunks gets 408
    max_connections: int = 1024  # beyond this, new requests get 503 (uvicorn's limit)
    sse_heartbeat_s: float = 15.0
    sample_interval_s: float = 1.0  # token series and batch-size sampling
    series_points: int = 600
    recent_syscalls: int = 2000
    json_logs: bool = False
    access_log: bool = True
    otel: str | None = None  # None (off), "console", "otlp", or "memory" (tests)
    log_events: bool = False  # also write kernel events to the structured log
    key_cache_s: float = 5.0  # how long a verified key is trusted before re-reading it
