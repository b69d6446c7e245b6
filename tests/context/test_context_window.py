"""Fitting conversations into budgets: units, pinning, and properties over random ones."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmagentos.context import TokenCounter, fit_window, truncate, units_of
from llmagentos.errors import RequestTooLarge
from llmagentos.llm.types import Message, ToolCallRequest
from llmagentos.testing import FunctionModel


def cost(m: Message) -> int:
    return 1 + len(m.content.split()) + 2 * len(m.tool_calls)


def sys(text: str = "you are helpful") -> Message:
    return Message(role="system", content=text)


def user(text: str) -> Message:
    return Message(role="user", content=text)


def bot(text: str) -> Message:
    return Message(role="assistant", content=text)


def call(cid: str) -> Message:
    return Message(role="assistant", tool_calls=(ToolCallRequest(cid, "search", "{}"),))


def result(cid: str, text: str = "found it") -> Message:
    return Message(role="tool", content=text, tool_call_id=cid)


def test_units_group_tool_exchanges_and_pin_the_current_turn() -> None:
    convo = [sys(), user("a"), bot("b"), user("c"), call("1"), result("1"), result("1")]
    units = units_of(convo, cost)
    assert [(u.start, u.stop, u.pinned) for u in units] == [
        (0, 1, True),
        (1, 2, False),
        (2, 3, False),
        (3, 4, True),  # the last user message
        (4, 7, True),  # the pending exchange, call and results together
    ]


def test_everything_fits_is_returned_as_is() -> None:
    convo = [sys(), user("hello there")]
    fit = fit_window(convo, 100, cost)
    assert fit.messages == tuple(convo) and fit.evicted == () and fit.block is None


def test_oldest_turns_go_first_and_the_block_follows_the_system_prompt() -> None:
    convo = [sys(), user("one two"), bot("three four"), user("five six"), bot("seven"), user("q")]
    block = Message(role="system", content="summary")
    fit = fit_window(convo, 13, cost, lambda room: block)
    assert fit.messages[0] == convo[0] and fit.messages[1] == block
    assert fit.messages[-1] == convo[-1]
    assert fit.evicted == (1, 2)
    assert sum(cost(m) for m in fit.messages) <= 13


def test_a_kept_run_never_starts_with_an_answer() -> None:
    convo = [sys(), user("a b c d e f"), bot("x"), user("now")]
    fit = fit_window(convo, 6, cost)  # room for the answer but not its question
    assert fit.evicted == (1, 2)
    assert [m.role for m in fit.messages] == ["system", "user"]


def test_a_block_that_does_not_fit_is_dropped() -> None:
    convo = [sys(), user("a b c"), bot("d e f"), user("g")]
    big = Message(role="system", content="w " * 50)
    fit = fit_window(convo, 8, cost, lambda room: big)
    assert fit.block is None and big not in fit.messages


def test_pinned_messages_that_cannot_fit_are_refused() -> None:
    convo = [sys("s " * 10), user("u " * 10)]
    with pytest.raises(RequestTooLarge) as err:
        fit_window(convo, 15, cost)
    assert err.value.details["pinned_tokens"] == 22


def test_truncate_cuts_at_words() -> None:
    count = len
    text = "alpha beta gamma delta"
    assert truncate(text, 100, count) == text
    cut = truncate(text, 14, count)
    assert cut == "alpha beta …" and len(cut) <= 14
    assert truncate(text, 1, count) == ""


def test_counter_is_an_upper_bound_of_the_backend_and_of_the_kernel() -> None:
    from llmagentos.kernel.handlers import estimate_tokens
    from llmagentos.llm.types import LLMRequest

    model = FunctionModel(lambda m, r: "x")
    counter = TokenCounter(model)
    request = LLMRequest(messages=(sys("a " * 40), user("x" * 400)))
    assert counter.request(request) >= model.count_prompt_tokens(request)
    assert counter.request(request) >= estimate_tokens(request)


# -- properties ------------------------------------------------------------------------

words = st.integers(0, 30).map(lambda n: " ".join(["w"] * n))


@st.composite
def conversations(draw: st.DrawFn) -> list[Message]:
    convo = [sys(draw(words)) for _ in range(draw(st.integers(0, 2)))]
    ids = iter(range(10_000))
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(["user", "assistant", "tools"]))
        if kind == "tools":
            cid = str(next(ids))
            convo.append(call(cid))
            convo.extend(result(cid, draw(words)) for _ in range(draw(st.integers(1, 3))))
        else:
            convo.append(Message(role=kind, content=draw(words)))
    return convo


def pinned_indices(convo: list[Message]) -> set[int]:
    return {i for u in units_of(convo, cost) if u.pinned for i in range(u.start, u.stop)}


@settings(max_examples=300, deadline=None)
@given(convo=conversations(), budget=st.integers(1, 200), with_block=st.booleans())
def test_fits_keep_pinned_and_pairs_or_refuse(
    convo: list[Message], budget: int, with_block: bool
) -> None:
    block = Message(role="system", content="context block")
    pinned = pinned_indices(convo)
    try:
        fit = fit_window(convo, budget, cost, (lambda room: block) if with_block else None)
    except RequestTooLarge:
        assert sum(cost(convo[i]) for i in pinned) > budget
        return
    assert sum(cost(m) for m in fit.messages) <= budget  # never over the window
    assert pinned <= set(fit.kept)  # no pinned message is ever dropped
    assert sorted(fit.kept) == list(fit.kept)  # order is kept
    assert set(fit.kept) | set(fit.evicted) == set(range(len(convo)))
    sent = [m for m in fit.messages if m is not block]
    assert sent == [convo[i] for i in fit.kept]
    for i in fit.kept:  # tool results travel with their call, and calls with their results
        if convo[i].role == "tool" and i > 0 and convo[i - 1].role in ("assistant", "tool"):
            assert i - 1 in fit.kept
        if convo[i].tool_calls and i + 1 < len(convo) and convo[i + 1].role == "tool":
            assert i + 1 in fit.kept
