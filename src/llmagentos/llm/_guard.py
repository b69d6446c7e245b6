"""The switch that keeps tests from calling real (non-loopback) model servers.

Public through `llmagentos.testing.block_real_models()`; it lives here because remote
backends consult it and `llm/` must not import `testing/`.
"""

from __future__ import annotations

import ipaddress
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from llmagentos.errors import PermissionDenied

ENV_VAR = "LLMAGENTOS_BLOCK_REAL_MODELS"

_lock = threading.Lock()
_depth = 0  # nesting depth of block_real_models(); a counter so nested blocks compose


def real_models_blocked() -> bool:
    """True inside `block_real_models()` or when the env var is set to a true value."""
    if _depth > 0:
        return True
    return os.environ.get(ENV_VAR, "").strip().lower() in {"1", "true", "yes", "on"}


@contextmanager
def block_real_models() -> Iterator[None]:
    """Make remote backends refuse any base_url that is not loopback while inside."""
    global _depth
    with _lock:
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1


def is_loopback_url(url: str) -> bool:
    """True when `url`'s host is localhost or a loopback IP address."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_real_model_allowed(url: str) -> None:
    """Raise `PermissionDenied` when real model calls are blocked and `url` is not loopback."""
    if real_models_blocked() and not is_loopback_url(url):
        raise PermissionDenied(
            f"real model calls are blocked (block_real_models() or {ENV_VAR}=1) and "
            f"{url} is not a loopback address; use llmagentos.testing doubles or a "
            "loopback server in tests",
            url=url,
        )
