"""`create_app`: the FastAPI application that serves one kernel over HTTP.

```python
kernel = Kernel(KernelConfig(state_dir="state"), models={"m": "openai:gpt-4o-mini"})
app = create_app(kernel)          # uvicorn.run(app) boots the kernel in its lifespan
```

The app boots the kernel when it starts and shuts it down when it stops (pass
`owns_kernel=False` to manage a kernel yourself), serves the REST API under `/api`, the
OpenAI-compatible API under `/v1`, the dashboard under `/dashboard`, Prometheus metrics at
`/metrics` and liveness at `/health`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from llmagentos import __version__
from llmagentos.kernel.kernel import Kernel
from llmagentos.server import errors
from llmagentos.server.config import ServerConfig
from llmagentos.server.deps import ReadKey
from llmagentos.server.jsonlog import AccessLog
from llmagentos.server.limits import BodyLimits
from llmagentos.server.routes import (
    approvals,
    apps,
    data,
    events,
    keys,
    messages,
    observe,
    openai,
    processes,
)
from llmagentos.server.state import ServerState

DASHBOARD = Path(__file__).parent / "dashboard"


def create_app(
    kernel: Kernel, config: ServerConfig | None = None, *, owns_kernel: bool = True
) -> FastAPI:
    """The HTTP server for `kernel`; see the module docstring."""
    config = config or ServerConfig()
    state = ServerState(kernel, config, owns_kernel=owns_kernel)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await state.start()
        try:
            yield
        finally:
            await state.stop()

    app = FastAPI(
        title="llmagentos",
        version=__version__,
        summary="An operating system for LLM agents: processes, syscalls, models over HTTP.",
        lifespan=lifespan,
        docs_url="/docs" if config.public_docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if config.public_docs else None,
    )
    app.state.server = state
    errors.install(app)
    # Routes match in this order: the model endpoints, the hottest path, come first.
    for module in (openai, processes, apps, messages, data, approvals, events, observe, keys):
        app.include_router(module.router)
    if not config.public_docs:
        _private_openapi(app)
    _dashboard(app)
    # Outermost last: access logging sees every answer, limits apply before routing.
    app.add_middleware(BodyLimits, config=config)
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(AccessLog, observe=state.metrics.observe_http, log=config.access_log)
    return app


def _private_openapi(app: FastAPI) -> None:
    """Serve the spec to holders of a key only (no key: nothing but /health)."""

    @app.get("/openapi.json", include_in_schema=False)
    async def spec(key: ReadKey) -> JSONResponse:
        return JSONResponse(app.openapi())


def _dashboard(app: FastAPI) -> None:
    """The dashboard's files: static, holding no data (the page asks for a key)."""
    app.mount("/dashboard/static", StaticFiles(directory=DASHBOARD), name="dashboard-static")
    page = (DASHBOARD / "index.html").read_text() if (DASHBOARD / "index.html").exists() else ""

    @app.get("/dashboard", include_in_schema=False, response_class=HTMLResponse)
    async def dashboard() -> HTMLResponse:
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/dashboard")
