"""Fixtures for the server tests: a real server on loopback (port 0) per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from server_workload import Served, served_iter


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from served_iter(tmp_path / "state")
