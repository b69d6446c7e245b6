"""Properties of the manager's fit over random conversations and windows (Hypothesis).

No request that leaves `fit` exceeds the window (by the backend's own count, by the
kernel's estimate, by the manager's count), and no pinned message is ever dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmagentos.context import ContextConfig, units_of
from llmagentos.context.manager import ContextManager
from llmagentos.errors import RequestTooLarge
from llmagentos.kernel.handlers import estimate_tokens
from llmagentos.llm.types import LLMRequest, Message, ToolCallRequest, ToolSpec
from llmagentos.storage.db import Database
from llmagentos.storage.managers import MANAGER_SCHEMAS
from llmagentos.storage.schema import CORE_SCHEMA
from llmagentos.testing import FunctionModel


@pytest.fixture(scope="module")
def manager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContextManager]:
    path: Path = tmp_path_factory.mktemp("ctx") / "os.db"
    db = Database(path).open([CORE_SCHEMA, *MANAGER_SCHEMAS])
    # Sliding, nothing to memory: `fit` then needs no event loop; the block's own bound is
    # covered by the window properties, where any block may appear.
    config = ContextConfig(strategy="sliding", evict_to_memory=False)
    kernel = SimpleNamespace(db=db, models={}, config=SimpleNamespace(max_request_tokens=10**6))
    yield ContextManager(kernel, config)  # type: ignore[arg-type]
    db.close()


text = st.text(alphabet=" abcdefghij", max_size=300)


@st.composite
def requests(draw: st.DrawFn) -> LLMRequest:
    messages = [Message(role="system", content=draw(text))] if draw(st.booleans()) else []
    for i in range(draw(st.integers(1, 30))):
        role = draw(st.sampled_from(["user", "assistant", "tool-exchange"]))
        if role == "tool-exchange":
            calls = (ToolCallRequest(f"c{i}", "lookup", draw(text)),)
            messages.append(Message(role="assistant", tool_calls=calls))
            messages.append(Message(role="tool", content=draw(text), tool_call_id=f"c{i}"))
        else:
            messages.append(Message(role=role, content=draw(text)))  # type: ignore[arg-type]
    tools = (ToolSpec("lookup", "look a thing up", {"type": "object"}),) * draw(st.integers(0, 2))
    return LLMRequest(messages=tuple(messages), tools=tools, max_tokens=draw(st.integers(1, 400)))


class Proc:
    pid = 1
    namespace = "proc/p"
    budgeted = False


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(request=requests(), window=st.integers(64, 2048), exact=st.booleans())
def test_no_request_exceeds_the_window_and_no_pinned_message_is_dropped(
    manager: ContextManager, request: LLMRequest, window: int, exact: bool
) -> None:
    backend: Any = FunctionModel(lambda m, r: "ok", context_window=window)
    if not exact:
        backend.count_prompt_tokens = None  # a backend that cannot count
    try:
        fitted = manager.fit(Proc(), request, backend)  # type: ignore[arg-type]
    except RequestTooLarge:
        return  # refused: nothing is sent
    counter = manager.counter(backend)
    assert counter.request(fitted) + fitted.max_tokens <= window
    assert FunctionModel(lambda m, r: "").count_prompt_tokens(fitted) + fitted.max_tokens <= window
    assert estimate_tokens(fitted) < window
    pinned = [
        request.messages[i]
        for u in units_of(request.messages, counter.message)
        if u.pinned
        for i in range(u.start, u.stop)
    ]
    sent = list(fitted.messages)
    for message in pinned:  # every pinned message is sent, in order
        assert message in sent
        sent = sent[sent.index(message) + 1 :]
