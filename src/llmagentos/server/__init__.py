"""llmagentos as a service: REST and OpenAI-compatible APIs, a dashboard, metrics.

`create_app(kernel)` builds the FastAPI app (`llmagentos serve` runs it under uvicorn);
`ServerThread` runs one on a background thread for tests and embedding. Needs the
`server` extra: `pip install 'llmagentos[server]'`.
"""

from llmagentos.server.app import create_app
from llmagentos.server.auth import SCOPES, ApiKey, KeyStore, Scope
from llmagentos.server.config import ServerConfig
from llmagentos.server.runner import ServerThread, serve

__all__ = [
    "SCOPES",
    "ApiKey",
    "KeyStore",
    "Scope",
    "ServerConfig",
    "ServerThread",
    "create_app",
    "serve",
]
