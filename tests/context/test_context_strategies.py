"""Strategies compose the context block within the room they are given."""

from __future__ import annotations

import pytest

from llmagentos.context import (
    ContextStrategy,
    Recall,
    SlidingWindow,
    Summarize,
    SummarizeAndRecall,
    make_strategy,
)
from llmagentos.errors import InvalidArgument


def count(text: str) -> int:
    return len(text.split())


SUMMARY = "the user said many things " * 4
RECALLED = ["user: my password is bluefalcon42", "assistant: noted " + "x " * 40]


@pytest.mark.parametrize("room", [0, 3, 10, 25, 60, 200])
@pytest.mark.parametrize("strategy", [SlidingWindow(), Summarize(), Recall(), SummarizeAndRecall()])
def test_blocks_fit_their_room(strategy: ContextStrategy, room: int) -> None:
    text = strategy.compose(SUMMARY, RECALLED, room, count)
    assert text is None or count(text) <= room


def test_what_each_strategy_puts_in() -> None:
    room = 200
    assert SlidingWindow().compose(SUMMARY, RECALLED, room, count) is None
    summary = Summarize().compose(SUMMARY, RECALLED, room, count)
    assert summary is not None and "many things" in summary and "bluefalcon42" not in summary
    recall = Recall().compose(SUMMARY, RECALLED, room, count)
    assert recall is not None and "bluefalcon42" in recall and "many things" not in recall
    both = SummarizeAndRecall().compose(SUMMARY, RECALLED, room, count)
    assert both is not None and "many things" in both and "bluefalcon42" in both
    assert Recall().compose(None, [], room, count) is None
    assert Summarize().compose(None, RECALLED, room, count) is None


def test_recalled_items_are_cut_in_relevance_order() -> None:
    text = Recall().compose(None, RECALLED, 20, count)
    assert text is not None and "bluefalcon42" in text and count(text) <= 20


def test_factory() -> None:
    assert isinstance(make_strategy("summarize+recall"), SummarizeAndRecall)
    custom = Recall()
    assert make_strategy(custom) is custom
    with pytest.raises(InvalidArgument):
        make_strategy("magic")
    with pytest.raises(InvalidArgument):
        make_strategy(object())  # type: ignore[arg-type]
