"""The working set: LRU-K choices, the byte budget, paging out and back in, the API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmagentos.errors import InvalidArgument, RequestTooLarge
from llmagentos.memory import LRUK, DictPageStore, SQLitePageStore, WorkingSet


def test_lru_k_prefers_keys_seen_fewer_than_k_times() -> None:
    policy = LRUK(k=2)
    for key in ("hot", "hot", "scan1", "scan2", "hot"):
        policy.touch(key)
    # one-off keys go first, oldest first; "hot" outlives the more recent one-off "scan2"
    assert policy.victim(["hot", "scan1", "scan2"]) == "scan1"
    assert policy.victim(["hot", "scan2"]) == "scan2"
    policy.touch("scan2")
    # both seen twice now: the one whose 2nd-most-recent access is older goes
    assert policy.victim(["hot", "scan2"]) == "hot"


def test_correlated_references_count_once() -> None:
    policy = LRUK(k=2, correlated=1)
    policy.touch("a")
    policy.touch("a")  # right after: the same reference
    policy.touch("b")
    policy.touch("b")
    assert policy.rank("a")[0] == -1 and policy.rank("b")[0] == -1
    with pytest.raises(InvalidArgument):
        LRUK(k=0)


def test_budget_paging_and_values_are_copies() -> None:
    store = DictPageStore()
    ws = WorkingSet(7, budget_bytes=40, store=store)
    ws.put("plan", {"steps": [1, 2, 3]})  # 19 bytes
    assert ws.get("plan") == {"steps": [1, 2, 3]}
    ws.put("a", "x" * 10)
    ws.put("b", "y" * 10)  # over budget: the plan (seen twice) stays, "a" goes
    assert ws.resident() == ["b", "plan"]
    assert store.keys(7) == ["a"]
    assert ws.get("a") == "x" * 10  # paged back in (something else goes out)
    assert ws.stats()["page_ins"] == 1 and ws.stats()["page_outs"] >= 2
    assert ws.resident_bytes <= 40 and ws.keys() == ["a", "b", "plan"]
    value = [1]
    ws.put("list", value)
    value.append(2)
    assert ws.get("list") == [1]  # stored by value
    assert ws.delete("a") is True and ws.delete("a") is False and "a" not in ws
    assert ws.get("missing", "dflt") == "dflt"
    ws.clear()
    assert len(ws) == 0 and store.pages == {}


def test_bad_values() -> None:
    ws = WorkingSet(1, budget_bytes=16)
    with pytest.raises(RequestTooLarge):
        ws.put("big", "z" * 100)
    with pytest.raises(InvalidArgument):
        ws.put("set", {1, 2})
    with pytest.raises(InvalidArgument):
        ws.put("", 1)
    with pytest.raises(InvalidArgument):
        WorkingSet(1, budget_bytes=0)


def test_sqlite_page_store_starts_empty_and_keeps_owners_apart(tmp_path: Path) -> None:
    store = SQLitePageStore(tmp_path / "swap.db")
    store.put(1, "k", b"one")
    store.put(2, "k", b"two")
    assert store.get(1, "k") == b"one" and store.keys(2) == ["k"]
    store.clear(1)
    assert store.get(1, "k") is None and store.get(2, "k") == b"two"
    store.close()
    fresh = SQLitePageStore(tmp_path / "swap.db")  # a new kernel: the old pages are gone
    assert fresh.get(2, "k") is None
    fresh.close()


@settings(max_examples=60, deadline=None)
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["put", "get", "delete"]),
            st.sampled_from("abcdefgh"),
            st.integers(0, 30),
        ),
        max_size=120,
    ),
    budget=st.integers(40, 200),
)
def test_never_over_budget_and_never_loses_a_value(
    ops: list[tuple[str, str, int]], budget: int
) -> None:
    ws = WorkingSet(3, budget_bytes=budget)
    model: dict[str, Any] = {}
    for op, key, n in ops:
        if op == "put":
            ws.put(key, "v" * n)
            model[key] = "v" * n
        elif op == "get":
            assert ws.get(key) == model.get(key)
        else:
            assert ws.delete(key) == (key in model)
            model.pop(key, None)
        assert ws.resident_bytes <= budget
        assert ws.keys() == sorted(model)


async def test_process_context_api(make_kernel: Callable[..., Any]) -> None:
    from llmagentos.memory import MemoryConfig

    kernel = await make_kernel(memory=MemoryConfig(embedder="hash", working_set_bytes=64))

    async def prog(ctx: Any) -> Any:
        ws = ctx.working_set
        for i in range(10):
            ws.put(f"note{i}", f"value number {i}")
        return [ws.get("note0"), ctx.working_set is ws, ws.stats()["page_outs"] > 0]

    def sync_prog(ctx: Any) -> Any:
        ctx.working_set.put("k", [1, 2])
        return ctx.working_set.get("k")

    status = await kernel.run(prog)
    assert status.result == ["value number 0", True, True]
    assert (await kernel.run(sync_prog)).result == [1, 2]
    kernel.memory.sweep()
    assert kernel.memory._working == {}  # ended processes give their working sets back
