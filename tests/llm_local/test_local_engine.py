"""EngineCore driven synchronously: batching, prefixes, preemption, snapshots, errors."""

from __future__ import annotations

from typing import Any

import pytest
from local_reference import greedy_reference, prompts

from llmagentos.errors import InvalidArgument, RequestTooLarge
from llmagentos.llm.local import Caller, Generation, SamplingParams, Score, run_sync

GREEDY = SamplingParams(max_tokens=12, ignore_eos=True)


def results(events: list[Any]) -> dict[int, Any]:
    return {e.seq_id: e.result for e in events if e.result is not None}


@pytest.mark.parametrize("cascade_min", [8, 1 << 30])
def test_batched_equals_sequential_greedy(tiny: Any, make_core: Any, cascade_min: int) -> None:
    core = make_core(max_batch=5, max_batch_tokens=48, min_steps=1, cascade_min=cascade_min)
    batch = prompts(tiny.tokenizer, 14)
    ids = [core.add(p, GREEDY) for p in batch]
    done = results(run_sync(core))
    for seq_id, prompt in zip(ids, batch, strict=True):
        assert list(done[seq_id].token_ids) == greedy_reference(tiny.model, prompt, 12)
        assert done[seq_id].finish_reason == "length"


def test_prefix_reuse_across_turns_gives_same_tokens(tiny: Any, make_core: Any) -> None:
    core = make_core(max_batch=4, prefix_block=8)
    batch = prompts(tiny.tokenizer, 6)
    ids = [core.add(p, GREEDY) for p in batch]
    first = results(run_sync(core))
    # Each agent's next turn extends its own history: prompt + answer + a new message.
    nxt = [
        [*p, *first[i].token_ids, *tiny.tokenizer.encode(" observation: ok")]
        for i, p in zip(ids, batch, strict=True)
    ]
    ids2 = [core.add(p, GREEDY) for p in nxt]
    second = results(run_sync(core))
    stats = core.stats()
    assert stats.cached_tokens > 0 and 0 < stats.prefix_hit_rate < 1
    for seq_id, prompt in zip(ids2, nxt, strict=True):
        assert second[seq_id].cached_tokens >= 8
        assert list(second[seq_id].token_ids) == greedy_reference(tiny.model, prompt, 12)


def test_shared_system_prompt_is_computed_once(tiny: Any, make_core: Any) -> None:
    core = make_core(max_batch=8, prefix_block=8)
    system = tiny.tokenizer.encode("system: you are an agent that calls tools. " * 4)
    batch = [[*system, *tiny.tokenizer.encode(f" question {i}")] for i in range(6)]
    ids = [core.add(p, SamplingParams(max_tokens=4, ignore_eos=True)) for p in batch]
    done = results(run_sync(core))
    assert sum(done[i].cached_tokens for i in ids) >= 5 * (len(system) // 8) * 8
    assert core.stats().cascade_steps >= 3  # the system prompt's KV was read once per step
    for seq_id, prompt in zip(ids, batch, strict=True):
        assert list(done[seq_id].token_ids) == greedy_reference(tiny.model, prompt, 4)


def test_preemption_keeps_kv_and_tokens(tiny: Any, make_core: Any) -> None:
    core = make_core(max_batch=2, policy="priority", min_steps=1)
    batch = prompts(tiny.tokenizer, 6)
    low = [core.add(p, SamplingParams(max_tokens=16, ignore_eos=True)) for p in batch[:2]]
    for _ in range(3):
        core.step()
    high = [core.add(p, GREEDY, Caller(pid=9, priority=5)) for p in batch[2:]]
    done = results(run_sync(core))
    stats = core.stats()
    assert stats.preemptions >= 2
    # Nothing was computed twice: each prompt once (less prefix hits), each token once.
    assert stats.computed_tokens == stats.prompt_tokens - stats.cached_tokens + 2 * 15 + 4 * 11
    for seq_id, prompt in zip(low + high, batch, strict=True):
        n = 16 if seq_id in low else 12
        assert list(done[seq_id].token_ids) == greedy_reference(tiny.model, prompt, n)


def test_evicted_state_is_recomputed_transparently(tiny: Any, make_core: Any) -> None:
    core = make_core(max_batch=2, policy="priority", min_steps=1, kv_budget_bytes=1)
    batch = prompts(tiny.tokenizer, 4)
    low = [core.add(p, SamplingParams(max_tokens=16, ignore_eos=True)) for p in batch[:2]]
    for _ in range(3):
        core.step()
    high = [core.add(p, GREEDY, Caller(priority=5)) for p in batch[2:]]
    done = results(run_sync(core))
    assert core.stats().evictions >= 2 and core.stats().store_bytes == 0
    for seq_id, prompt in zip(low + high, batch, strict=True):
        n = 16 if seq_id in low else 12
        assert list(done[seq_id].token_ids) == greedy_reference(tiny.model, prompt, n)


@pytest.mark.parametrize("params", [GREEDY, SamplingParams(12, 0.9, 0.9, seed=3, ignore_eos=True)])
def test_snapshot_restore_continues_exactly(tiny: Any, make_core: Any, params: Any) -> None:
    prompt = prompts(tiny.tokenizer, 3)[2]
    whole = make_core()
    seq = whole.add(prompt, params)
    expected = results(run_sync(whole))[seq]
    core = make_core()
    seq = core.add(prompt, params)
    for _ in range(5):
        core.step()
    snap = core.snapshot(seq)
    assert 0 < len(snap.token_ids) < 12
    assert core.cancel(seq)
    fresh = make_core()  # another engine: nothing cached, everything from the snapshot
    again = results(run_sync(fresh) if fresh.restore(snap) else [])
    (got,) = again.values()
    assert got.token_ids == expected.token_ids and got.text == expected.text


def test_cancellation_frees_state(tiny: Any, make_core: Any) -> None:
    core = make_core(max_batch=3, trim_after_s=0)
    base = core.stats()
    ids = [core.add(p, SamplingParams(max_tokens=40)) for p in prompts(tiny.tokenizer, 6)]
    for _ in range(4):
        core.step()
    mid = core.stats()
    assert mid.running == 3 and mid.kv_bytes > base.kv_bytes
    assert all(core.cancel(i) for i in ids)
    assert not core.cancel(ids[0])
    core.step()  # idle: gives the rows back
    after = core.stats()
    assert (after.running, after.waiting, after.parked, after.rows_in_use) == (0, 0, 0, 0)
    assert after.kv_bytes == base.kv_bytes == 0
    assert not core.kv.holders and not core.kv.index and not core.kv.pending


def test_bad_inputs_raise_typed_errors(tiny: Any, make_core: Any) -> None:
    core = make_core()
    ok = [5, 6, 7]
    with pytest.raises(InvalidArgument, match="empty"):
        core.add([], GREEDY)
    with pytest.raises(RequestTooLarge, match="context window"):
        core.add([5] * tiny.window, GREEDY)
    for bad in (
        SamplingParams(max_tokens=0),
        SamplingParams(max_tokens=10**9),
        SamplingParams(temperature=-1.0),
        SamplingParams(temperature=float("nan")),
        SamplingParams(top_p=0.0),
        SamplingParams(stop=("",)),
    ):
        with pytest.raises(InvalidArgument):
            core.add(ok, bad)
    with pytest.raises(InvalidArgument):
        core.add_score(ok, [])
    with pytest.raises(InvalidArgument):
        core.snapshot(12345)
    assert not core.has_work()


def test_max_tokens_is_clamped_to_the_window(tiny: Any, make_core: Any) -> None:
    core = make_core()
    prompt = [5] * (tiny.window - 3)
    seq = core.add(prompt, SamplingParams(max_tokens=100, ignore_eos=True))
    (got,) = results(run_sync(core)).values()
    assert got.seq_id == seq and len(got.token_ids) == 3 and got.finish_reason == "length"


def test_stop_strings(tiny: Any, make_core: Any) -> None:
    prompt = prompts(tiny.tokenizer, 2)[1]
    core = make_core()
    core.add(prompt, SamplingParams(max_tokens=30, ignore_eos=True))
    (free,) = results(run_sync(core)).values()
    text = free.text
    stop = text[len(text) // 2 : len(text) // 2 + 3]
    assert stop and len(text) > 10
    events = []
    seq = core.add(prompt, SamplingParams(max_tokens=30, ignore_eos=True, stop=(stop,)))
    events = run_sync(core)
    got: Generation = results(events)[seq]
    assert got.finish_reason == "stop"
    assert got.text == text[: text.find(stop)]
    assert "".join(e.text for e in events) == got.text


def test_logprobs_match_a_direct_forward_pass(tiny: Any, make_core: Any) -> None:
    import torch

    prompt = prompts(tiny.tokenizer, 2)[0]
    core = make_core()
    seq = core.add(prompt, SamplingParams(max_tokens=10, logprobs=True, ignore_eos=True))
    got: Generation = results(run_sync(core))[seq]
    full = [*prompt, *got.token_ids]
    with torch.no_grad():
        logp = torch.log_softmax(tiny.model(input_ids=torch.tensor([full])).logits[0].float(), -1)
    direct = [float(logp[len(prompt) - 1 + i, t]) for i, t in enumerate(got.token_ids)]
    assert got.logprobs == pytest.approx(direct, abs=1e-4)
    assert got.logprob == pytest.approx(sum(direct), abs=1e-3)
    # Scoring the same continuation gives the same numbers: log P(Y|X).
    score_id = core.add_score(prompt, list(got.token_ids))
    score: Score = results(run_sync(core))[score_id]
    assert score.token_ids == got.token_ids
    assert score.logprobs == pytest.approx(direct, abs=1e-4)
    assert score.cached_tokens > 0  # the context's KV was parked by the generation


def test_seeded_sampling_is_reproducible_in_any_batch(tiny: Any, make_core: Any) -> None:
    batch = prompts(tiny.tokenizer, 5)
    params = SamplingParams(max_tokens=12, temperature=1.0, top_p=0.9, seed=11, ignore_eos=True)
    alone = make_core()
    a = alone.add(batch[0], params)
    first = results(run_sync(alone))[a].token_ids
    crowd = make_core()
    ids = [crowd.add(p, params) for p in batch]
    assert results(run_sync(crowd))[ids[0]].token_ids == first
    other = make_core()
    b = other.add(batch[0], SamplingParams(12, 1.0, 0.9, seed=12, ignore_eos=True))
    assert results(run_sync(other))[b].token_ids != first


@pytest.mark.parametrize("policy", ["fifo", "las"])
def test_short_calls_overtake_a_long_one_under_las(tiny: Any, make_core: Any, policy: str) -> None:
    core = make_core(max_batch=1, policy=policy, min_steps=2)
    batch = prompts(tiny.tokenizer, 3)
    long = core.add(batch[0], SamplingParams(max_tokens=30, ignore_eos=True), Caller(pid=1))
    for _ in range(3):
        core.step()
    short = [core.add(p, GREEDY, Caller(pid=2 + i)) for i, p in enumerate(batch[1:])]
    order = [e.seq_id for e in run_sync(core) if e.result is not None]
    if policy == "las":
        assert order == [*short, long] and core.stats().preemptions == 1
    else:
        assert order == [long, *short] and core.stats().preemptions == 0
    # The long generation lost nothing by waiting.
    assert (
        core.stats().computed_tokens == sum(map(len, batch)) - core.stats().cached_tokens + 29 + 22
    )


def test_waiting_on_a_shared_prefix_never_stalls_the_batch(tiny: Any, make_core: Any) -> None:
    # Better-ranked short calls wait for the system prompt a long call is computing; the
    # long call must still get the step's budget (this once stalled every step).
    core = make_core(max_batch=4, max_batch_tokens=16, policy="las", prefix_block=4)
    system = tiny.tokenizer.encode("system: you are an agent that calls tools. " * 3)
    core.add([*system, 7], SamplingParams(max_tokens=20, ignore_eos=True), Caller(pid=1))
    for pid in range(2, 8):
        core.add([*system, pid], SamplingParams(max_tokens=3, ignore_eos=True), Caller(pid=pid))
    for _ in range(400):
        core.step()
        if not core.has_work():
            break
    assert not core.has_work()
    assert core.stats().cached_tokens >= 6 * (len(system) // 4) * 4


def test_an_agents_next_turn_continues_in_its_row(tiny: Any, make_core: Any) -> None:
    core = make_core(max_batch=2, prefix_block=4)
    first = [
        tiny.tokenizer.encode(f"agent {i} asks about the weather in the city") for i in range(2)
    ]
    ids = [core.add(p, GREEDY, Caller(pid=i + 1)) for i, p in enumerate(first)]
    done = results(run_sync(core))
    assert core.stats().rows_in_use == 2 and core.stats().store_bytes == 0  # parked in rows
    nxt = [[*p, *done[i].token_ids, 9, 10] for i, p in zip(ids, first, strict=True)]
    ids2 = [core.add(p, GREEDY, Caller(pid=n + 1)) for n, p in enumerate(nxt)]
    done2 = results(run_sync(core))
    for seq_id, prev, prompt in zip(ids2, first, nxt, strict=True):
        assert done2[seq_id].cached_tokens == len(prev) + 12 - 1  # all but the last token
        assert list(done2[seq_id].token_ids) == greedy_reference(tiny.model, prompt, 12)
    assert core.stats().store_bytes == 0  # no copy out, no copy in
    assert len(core.kv.parked) == 2  # the first turns were absorbed by the second


def test_parked_kv_expires_after_its_ttl(tiny: Any) -> None:
    from llmagentos.llm.local import EngineConfig, EngineCore

    now = [0.0]
    core = EngineCore(
        tiny.model,
        tiny.tokenizer,
        eos_ids=tiny.eos_ids,
        window=tiny.window,
        config=EngineConfig(max_batch=2, prefix_block=4, kv_ttl_s=60.0, trim_after_s=0),
        clock=lambda: now[0],
    )
    first = tiny.tokenizer.encode("agent 1 asks about the weather in the city")
    seq = core.add(first, GREEDY)
    answer = results(run_sync(core))[seq].token_ids
    follow = [*first, *answer, 9, 10]
    now[0] = 59.0  # within the TTL: the next turn reuses the parked KV
    seq = core.add(follow, GREEDY)
    assert results(run_sync(core))[seq].cached_tokens == len(first) + 12 - 1
    assert core.stats().parked == 1
    now[0] = 59.0 + 61.0  # past it: the next step forgets the parked state
    core.step()
    stats = core.stats()
    assert (stats.parked, stats.kv_bytes, stats.evictions) == (0, 0, 1)
    assert not core.kv.holders and not core.kv.index
    seq = core.add(follow, GREEDY)
    got = results(run_sync(core))[seq]
    assert got.cached_tokens == 0  # recomputed from scratch, with the same tokens
    assert list(got.token_ids) == greedy_reference(tiny.model, follow, 12)
