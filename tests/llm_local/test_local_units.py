"""The engine's pure parts: the step planner, the prefix index, the detokenizer."""

from __future__ import annotations

from typing import Any

import pytest

from llmagentos.llm.local.batcher import Candidate, choose, split_budget
from llmagentos.llm.local.detok import TextTail
from llmagentos.llm.local.prefix import PrefixIndex, block_hashes

# -- batcher ------------------------------------------------------------------------------


def test_best_ranked_take_the_rows_and_losers_are_preempted() -> None:
    cands = [
        Candidate(1, (5.0,), 1, running=True, steps=9),
        Candidate(2, (1.0,), 1, running=True, steps=9),
        Candidate(3, (0.0,), 20),
        Candidate(4, (7.0,), 20),
    ]
    choice = choose(cands, rows=2)
    assert choice.preempt == (1,) and choice.rows == 1
    assert choice.admit == (3, 1, 4)  # best first; the rest stand by in case 3 must wait


def test_recently_admitted_sequences_keep_their_rows() -> None:
    cands = [Candidate(1, (5.0,), 1, running=True, steps=1), Candidate(2, (0.0,), 4)]
    choice = choose(cands, rows=1, min_steps=4)
    assert choice.preempt == () and choice.rows == 0


def test_budget_serves_decoders_then_prompts_in_rank_order() -> None:
    running = [Candidate(i, (float(i),), 10) for i in range(4)] + [Candidate(9, (9.0,), 1)]
    assert split_budget(running, 26) == {9: 1, 0: 10, 1: 10, 2: 5, 3: 0}


def test_bad_limits() -> None:
    with pytest.raises(ValueError):
        choose([], rows=0)


# -- prefix index -------------------------------------------------------------------------


def test_chained_hashes_name_whole_prefixes() -> None:
    a, b = block_hashes([1, 2, 3, 4, 5, 6], 2), block_hashes([9, 9, 3, 4, 5, 6], 2)
    assert len(a) == 3 and a[1:] != b[1:]  # the same block after another prefix differs
    assert block_hashes([1, 2, 3, 4, 5, 6], 2, start=1, prev=a[0]) == a[1:]


def test_index_finds_the_deepest_holders_and_forgets_them() -> None:
    index = PrefixIndex(block=2)
    index.extend(1, [1, 2, 3, 4, 5], computed=5)
    index.extend(2, [1, 2, 3, 9], computed=4)
    assert index.covered(1) == 4
    assert index.lookup(block_hashes([1, 2, 3, 4, 7, 7], 2)) == (2, (1,))
    assert index.lookup(block_hashes([1, 2, 8, 8], 2)) == (1, (1, 2))
    index.truncate(1, 2)
    assert index.lookup(block_hashes([1, 2, 3, 4], 2)) == (1, (1, 2))
    index.remove(1)
    index.remove(2)
    assert index.lookup(block_hashes([1, 2], 2)) == (0, ()) and len(index) == 0


# -- detokenizer --------------------------------------------------------------------------


class ByteTokenizer:
    """One token per UTF-8 byte, so characters span tokens."""

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        return bytes(ids).decode("utf-8", errors="replace")


def feed(text: str, stop: tuple[str, ...] = ()) -> tuple[list[str], Any]:
    tail = TextTail(ByteTokenizer(), stop)
    out = [tail.push(b) for b in text.encode()]
    out.append(tail.finish())
    return out, tail


def test_multibyte_characters_are_released_whole() -> None:
    out, tail = feed("añ日本!")
    assert "".join(out) == tail.text == "añ日本!"
    assert all("\ufffd" not in piece for piece in out)
    assert out[1:3] == ["", "ñ"]


def test_stop_strings_cut_the_text_and_are_never_released() -> None:
    out, tail = feed("hello END world", stop=("END", "xyz"))
    assert tail.stopped and tail.text == "hello " and "".join(out) == "hello "
    assert "E" not in "".join(out[:8])


def test_a_stop_prefix_at_the_end_is_released_when_generation_ends() -> None:
    out, tail = feed("abc EN", stop=("END",))
    assert not tail.stopped and "".join(out) == "abc EN" and out[-1] == "EN"


# -- engine policy ------------------------------------------------------------------------


def test_agent_las_ranks_by_service_level_then_demand() -> None:
    from llmagentos.kernel.scheduler import QueuedCall
    from llmagentos.llm.local.policy import AgentLAS, engine_policy

    las = AgentLAS()

    def call(i: int, agent: str, est: int, at: float) -> QueuedCall:
        return QueuedCall(
            i, pid=i, program=agent, resource="engine", enqueued_at=at, est_tokens=est
        )

    def key(c: QueuedCall) -> tuple[float, ...]:
        return las.flow_key(las.flow(c)) + las.call_key(c)

    heavy, light, light2 = call(1, "h", 96, 0.0), call(2, "l", 16, 1.0), call(3, "l2", 16, 2.0)
    for c in (heavy, light, light2):
        las.on_enqueue(c)
    assert sorted([heavy, light, light2], key=key) == [light, light2, heavy]
    las.on_dispatch(heavy)
    las.on_complete(heavy, 96)
    again = call(4, "h", 16, 3.0)
    las.on_enqueue(again)  # the heavy agent's next short call still waits behind the light ones
    assert key(again) > key(light2)
    newcomer = call(5, "new", 16, 4.0)
    las.on_enqueue(newcomer)  # starts at the least active service (0 here), not below it
    assert key(newcomer)[0] == 0 and key(newcomer) > key(light2)
    # Within a level an agent that has started goes on: l's next call, after 16 tokens of
    # service, still ranks before the newcomer's first; 64 tokens later it is a level down.
    las.on_dispatch(light)
    las.on_complete(light, 16)
    second = call(6, "l", 16, 5.0)
    las.on_enqueue(second)
    assert key(second) < key(newcomer)
    las.on_dispatch(second)
    las.on_complete(second, 64)
    third = call(7, "l", 16, 6.0)
    las.on_enqueue(third)
    assert key(third)[0] == 1 and key(third) > key(newcomer)
    assert [las.level(s) for s in (0, 63, 64, 127, 128, 256)] == [0, 0, 1, 1, 2, 3]
    assert engine_policy("las")[1] and not engine_policy("las-program")[1]
    with pytest.raises(ValueError, match="unknown engine policy"):
        engine_policy("coinflip")


# -- attention ----------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [[0, 1, 2], [0, 2, 3]])  # dense, and with an idle row
def test_cascade_decode_equals_plain_decode(rows: list[int]) -> None:
    import torch

    from llmagentos.llm.local import attention as attn

    torch.manual_seed(0)
    layers, n_rows, kv_heads, cap, hd, heads, shared = 1, 4, 2, 64, 8, 4, 20
    kv = torch.randn(layers, 2, n_rows, kv_heads, cap, hd)
    kv[:, :, :, :, :shared] = kv[:, :, :1, :, :shared]  # one copy of the prefix in every row
    positions = [30, 25, 41]
    query = torch.randn(1, heads, 3, hd)
    key, value = torch.randn(1, kv_heads, 3, hd), torch.randn(1, kv_heads, 3, hd)

    class Layer:
        layer_idx = 0

    def run(cascade: int) -> torch.Tensor:
        high = max(rows) + 1
        plan = attn.StepPlan(
            kv=kv.clone(),
            n_decode=3,
            dec_rows=torch.tensor(rows),
            dec_pos=torch.tensor(positions),
            high=high,
            dense=rows == list(range(high)),
            dec_mask=attn.decode_mask(rows, positions, high, torch.float32, kv.device, cascade),
            prefills=[],
            shared=cascade,
            shared_row=rows[0],
        )
        out, _ = attn.attention(Layer(), query, key, value, None, 0.3, **{attn.PLAN_KW: plan})
        return out

    torch.testing.assert_close(run(shared), run(0), rtol=1e-5, atol=1e-6)
