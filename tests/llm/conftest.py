"""Fixtures for the LLM tests: real model calls are blocked, loopback servers are cheap."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmagentos.testing import OpenAIServer, ScriptedModel, block_real_models


@pytest.fixture(autouse=True)
def _no_real_models() -> Iterator[None]:
    """No test in this folder may reach a real (non-loopback) model server."""
    with block_real_models():
        yield


@pytest.fixture
def model() -> ScriptedModel:
    """A cycling scripted model; tests replace `model.replies` as they need."""
    return ScriptedModel(["hello there"], cycle=True)


@pytest.fixture
def server(model: ScriptedModel) -> Iterator[OpenAIServer]:
    """A loopback OpenAI-compatible server answering from `model`."""
    with OpenAIServer(model) as srv:
        yield srv
