"""The continuous-batching engine core: one `step()` runs one forward pass for the batch.

Written here rather than taken from transformers' `ContinuousBatchingManager` (measured in
`bench/llm_throughput.py` as baseline B3). That manager owns its thread, its scheduler and
its cache; without flash-attention kernels (CPU) its sdpa path gathers every sequence's
paged KV at each layer and attends over the whole packed batch under a block-diagonal
mask, so a decode step's attention work grows with the square of the batch, and on the
benchmark's agent workload it ran slower than one `generate()` at a time. This engine also
needs what the manager lacks: the kernel's policies deciding who runs (with preemption),
per-request sampling with seeds and logprobs, stop strings, KV kept after a call for the
agent's next turn, snapshots, and scoring. transformers still runs the model: its own
forward, with our attention (`attention.py`) plugged in through its attention interface.

Only one thread may call the methods of `EngineCore`; `runner.py` owns that thread.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

import torch

from llmagentos.errors import InvalidArgument, RequestTooLarge
from llmagentos.llm.local import attention as attn
from llmagentos.llm.local.batcher import Candidate, choose, split_budget
from llmagentos.llm.local.config import EngineConfig, EngineStats
from llmagentos.llm.local.detok import TextTail
from llmagentos.llm.local.guided import TokenGuide
from llmagentos.llm.local.kvcache import KVLayout
from llmagentos.llm.local.kvmanager import KVManager
from llmagentos.llm.local.packing import pack
from llmagentos.llm.local.params import (
    Caller,
    Generation,
    SamplingParams,
    Score,
    Snapshot,
    TokenEvent,
)
from llmagentos.llm.local.policy import engine_policy
from llmagentos.llm.local.sampling import new_generator, sample, token_logprobs
from llmagentos.llm.local.sequence import Sequence, Status
from llmagentos.llm.types import FinishReason

ANYONE = Caller()  # requests made outside any process


class EngineCore:
    """Sequences, their KV, and the step that advances them. See the module docstring."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        eos_ids: tuple[int, ...],
        window: int,
        config: EngineConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.eos_ids = frozenset(eos_ids)
        self.window = window
        self.config = cfg = config or EngineConfig()
        if cfg.max_batch < 1 or cfg.max_batch_tokens < cfg.max_batch:
            raise InvalidArgument("need max_batch >= 1 and max_batch_tokens >= max_batch")
        self.clock = clock
        self.device = next(model.parameters()).device
        self.dtype = next(model.parameters()).dtype
        layout = KVLayout.of(model.config, self.dtype, self.device)
        self.kv = KVManager(
            layout,
            cfg.max_batch,
            window=window,
            initial_cap=cfg.initial_cap,
            block=cfg.prefix_block,
            prefix_cache=cfg.prefix_cache,
            budget_bytes=cfg.kv_budget_bytes,
            ttl_s=cfg.kv_ttl_s,
            clock=self.clock,
        )
        try:
            self.policy, self._per_agent = engine_policy(cfg.policy, **cfg.policy_options)
        except ValueError as exc:
            raise InvalidArgument(str(exc)) from None
        self._seqs: dict[int, Sequence] = {}  # in flight: waiting or running
        self._running: dict[int, Sequence] = {}
        self._waiting: dict[int, Sequence] = {}
        self._ids = itertools.count(1)
        self._busy_at = self.clock()
        self._mask = torch.ones(1, 1, 1, 1, dtype=torch.bool, device=self.device)
        self._guide: TokenGuide | None = None  # made on the first guided request
        self.counters = dict.fromkeys(
            ("steps", "generated", "prompt", "cached", "computed", "preempt", "cascade"), 0
        )

    # -- requests ---------------------------------------------------------------------------

    def add(self, prompt: list[int], params: SamplingParams, caller: Caller = ANYONE) -> int:
        """Queue a generation; bad input raises `InvalidArgument` / `RequestTooLarge`."""
        params.check()
        self._check_prompt(prompt)
        if params.max_tokens > self.window:
            raise InvalidArgument(
                f"max_tokens={params.max_tokens} exceeds the model's context window "
                f"({self.window} tokens)"
            )
        gen = None if params.greedy else new_generator(params.seed, self.device)
        return self._enqueue(
            list(prompt), params, caller, min(params.max_tokens, self.window - len(prompt)), gen
        )

    def add_score(
        self, context: list[int], continuation: list[int], caller: Caller = ANYONE
    ) -> int:
        """Queue a scoring of `continuation` after `context` (log P(Y|X) per token)."""
        if not context or not continuation:
            raise InvalidArgument("scoring needs a non-empty context and continuation")
        self._check_prompt([*context, *continuation])
        tokens = [*context, *continuation]
        return self._enqueue(tokens, SamplingParams(), caller, 0, None, score_from=len(context))

    def restore(self, snap: Snapshot) -> int:
        """Continue an interrupted generation exactly where `snapshot` left it."""
        seq_id = self.add(list(snap.prompt_ids), snap.params, snap.caller)
        seq = self._seqs[seq_id]
        for t in snap.token_ids:
            seq.tokens.append(t)
            seq.tail.push(t)
            if seq.guide is not None:
                seq.guide = self.guide.allows(seq.guide, t) or seq.guide
        seq.logprobs = list(snap.logprobs)
        if snap.rng_state is not None and seq.generator is not None:
            state = torch.frombuffer(bytearray(snap.rng_state), dtype=torch.uint8)
            seq.generator.set_state(state)
        return seq_id

    def snapshot(self, seq_id: int) -> Snapshot:
        """The state of a generation that has not finished, to `restore` later."""
        seq = self._seqs.get(seq_id)
        if seq is None or seq.status is Status.DONE or seq.scoring:
            raise InvalidArgument(f"no unfinished generation {seq_id}")
        rng = None
        if seq.generator is not None:
            rng = bytes(seq.generator.get_state().tolist())
        return Snapshot(
            prompt_ids=tuple(seq.tokens[: seq.n_prompt]),
            token_ids=tuple(seq.tokens[seq.n_prompt :]),
            params=seq.params,
            caller=seq.caller,
            logprobs=tuple(seq.logprobs),
            rng_state=rng,
        )

    def cancel(self, seq_id: int) -> bool:
        """Drop a sequence and all its state; False if it is unknown or already done."""
        seq = self._seqs.get(seq_id)
        if seq is None:
            return False
        if seq.dispatched:
            self.policy.on_complete(seq.call, seq.generated)
        else:
            self.policy.on_leave(seq.call)
        self._forget(seq)
        return True

    def clear_cache(self) -> None:
        """Drop every parked KV copy (finished sequences kept for reuse)."""
        for seq_id in list(self.kv.parked):
            self.kv.drop(self.kv.holders[seq_id])

    def has_work(self) -> bool:
        return bool(self._running or self._waiting)

    def stats(self) -> EngineStats:
        c = self.counters
        return EngineStats(
            steps=c["steps"],
            generated_tokens=c["generated"],
            prompt_tokens=c["prompt"],
            cached_tokens=c["cached"],
            computed_tokens=c["computed"],
            preemptions=c["preempt"],
            cascade_steps=c["cascade"],
            evictions=self.kv.evictions,
            running=len(self._running),
            waiting=len(self._waiting),
            parked=len(self.kv.parked),
            rows_in_use=self.kv.pool.in_use,
            pool_bytes=self.kv.pool.nbytes,
            store_bytes=self.kv.store.nbytes,
        )

    # -- the step ---------------------------------------------------------------------------

    @torch.inference_mode()
    def step(self) -> list[TokenEvent]:
        """Admit, preempt, run one forward pass, sample; return what each sequence got."""
        self.kv.expire()
        now = self.clock()
        if not self.has_work():
            if now - self._busy_at >= self.config.trim_after_s:
                self.kv.idle()
            return []
        self._busy_at = now
        chunks = self._schedule()
        work = [(s, chunks[s.id]) for s in self._running.values() if chunks.get(s.id)]
        if not work:
            return []
        self.kv.pool.ensure(max(s.computed + n for s, n in work))
        self.kv.fit(self._waiting.values())
        logits, keep_owner = self._forward(work)
        self.counters["steps"] += 1
        return self._advance(work, logits, keep_owner)

    def _schedule(self) -> dict[int, int]:
        cfg = self.config
        cands = [
            Candidate(s.id, self._key(s), max(s.todo, 1), True, s.steps)
            for s in self._running.values()
        ]
        cands += [Candidate(s.id, self._key(s), max(s.todo, 1)) for s in self._waiting.values()]
        choice = choose(cands, cfg.max_batch, cfg.min_steps)
        for seq_id in choice.preempt:
            self._preempt(self._running[seq_id])
        free = choice.rows
        for seq_id in choice.admit:
            if free <= 0:
                break
            if self._admit(self._waiting[seq_id]):
                free -= 1
        running = [Candidate(s.id, self._key(s), s.todo) for s in self._running.values()]
        return split_budget(running, cfg.max_batch_tokens)

    def _key(self, seq: Sequence) -> tuple[float, ...]:
        p = self.policy
        return tuple(p.flow_key(p.flow(seq.call))) + tuple(p.call_key(seq.call))

    def _forward(
        self, work: list[tuple[Sequence, int]]
    ) -> tuple[torch.Tensor, list[tuple[Sequence, int]]]:
        """One model call for all of the step's tokens (see `packing`)."""
        assert self.kv.pool.kv is not None
        packed = pack(work, self.kv.pool.kv, self.dtype, self.device, self.config.cascade_min)
        out = self.model(
            input_ids=packed.input_ids,
            position_ids=packed.position_ids,
            attention_mask=self._mask,
            use_cache=False,
            logits_to_keep=packed.keep,
            **{attn.PLAN_KW: packed.plan},
        )
        if packed.plan.shared:
            self.counters["cascade"] += 1
        logits: torch.Tensor = out.logits[0]
        return logits, packed.owners

    def _advance(
        self,
        work: list[tuple[Sequence, int]],
        logits: torch.Tensor,
        owners: list[tuple[Sequence, int]],
    ) -> list[TokenEvent]:
        for seq, n in work:
            seq.computed += n
            seq.steps += 1
            self.counters["computed"] += n
            if self.config.prefix_cache:
                self.kv.index.extend(seq.id, seq.tokens, seq.computed)
        events: list[TokenEvent] = []
        samplers = [(i, s) for i, (s, _) in enumerate(owners) if not s.scoring]
        if samplers:
            rows = torch.tensor([i for i, _ in samplers], device=logits.device)
            params = [s.params for _, s in samplers]
            tokens, lps = sample(logits[rows], params, [s.generator for _, s in samplers])
            for (row, seq), tok, lp in zip(samplers, tokens, lps, strict=True):
                if seq.guide is not None:
                    tok, lp = self._guided(seq, logits[row], tok, lp)
                events.append(self._take_token(seq, tok, lp))
        scorers = [(i, s, p) for i, (s, p) in enumerate(owners) if s.scoring]
        if scorers:
            rows = torch.tensor([i for i, _, _ in scorers], device=logits.device)
            targets = torch.tensor([s.tokens[p + 1] for _, s, p in scorers], device=logits.device)
            picked = token_logprobs(logits[rows], targets)
            for (_, seq, _), lp in zip(scorers, picked, strict=True):
                seq.scores.append(lp)
        for seq, _ in work:
            if seq.scoring and seq.todo == 0:
                events.append(self._finish(seq, "stop"))
        return events

    @property
    def guide(self) -> TokenGuide:
        if self._guide is None:
            self._guide = TokenGuide(self.tokenizer, self.eos_ids)
        return self._guide

    def _guided(
        self, seq: Sequence, logits: torch.Tensor, drawn: int, logprob: float | None
    ) -> tuple[int, float | None]:
        """The guide's pick for `seq` instead of the plain sampler's `drawn`."""
        assert seq.guide is not None
        left = seq.max_new - seq.generated
        token, seq.guide = self.guide.pick(
            logits, seq.params, seq.generator, seq.guide, left, drawn
        )
        if token != drawn and logprob is not None:
            logprob = token_logprobs(logits[None], torch.tensor([token], device=logits.device))[0]
        return token, logprob

    def _take_token(self, seq: Sequence, token: int, logprob: float | None) -> TokenEvent:
        seq.tokens.append(token)
        self.counters["generated"] += 1
        if logprob is not None:
            seq.logprobs.append(logprob)
        lps = (logprob,) if logprob is not None else ()
        if token in self.eos_ids and not seq.params.ignore_eos:
            return self._finish(seq, "stop", (token,), lps)
        text = seq.tail.push(token)
        if seq.tail.stopped:
            return self._finish(seq, "stop", (token,), lps, text)
        if seq.generated >= seq.max_new:
            return self._finish(seq, "length", (token,), lps, text)
        return TokenEvent(seq.id, (token,), text, lps)

    def _finish(
        self,
        seq: Sequence,
        reason: FinishReason,
        tokens: tuple[int, ...] = (),
        lps: tuple[float, ...] = (),
        text: str = "",
    ) -> TokenEvent:
        result: Generation | Score
        if seq.scoring:
            result = Score(tuple(seq.tokens[seq.score_from :]), tuple(seq.scores), seq.cached)
        else:
            text += seq.tail.finish()
            result = Generation(
                seq_id=seq.id,
                prompt_ids=tuple(seq.tokens[: seq.n_prompt]),
                token_ids=tuple(seq.tokens[seq.n_prompt :]),
                text=seq.tail.text,
                finish_reason=reason,
                logprobs=tuple(seq.logprobs),
                cached_tokens=seq.cached,
            )
        self.policy.on_complete(seq.call, seq.generated)
        seq.status = Status.DONE
        self._running.pop(seq.id, None)
        self._seqs.pop(seq.id, None)
        self.kv.park(seq)
        return TokenEvent(seq.id, tokens, text, lps, finish_reason=reason, result=result)

    # -- bookkeeping ------------------------------------------------------------------------

    def _check_prompt(self, prompt: list[int]) -> None:
        if not prompt:
            raise InvalidArgument("the prompt is empty (no tokens to condition on)")
        if len(prompt) >= self.window:
            raise RequestTooLarge(
                f"the prompt is {len(prompt)} tokens; the model's context window is "
                f"{self.window}, and at least one token must be left to generate",
                prompt_tokens=len(prompt),
                context_window=self.window,
            )

    def _enqueue(
        self,
        tokens: list[int],
        params: SamplingParams,
        caller: Caller,
        max_new: int,
        generator: torch.Generator | None,
        score_from: int | None = None,
    ) -> int:
        seq_id = next(self._ids)
        tail = TextTail(self.tokenizer, params.stop)
        flow = None
        if self._per_agent:  # requests from outside any process are each their own agent
            flow = f"pid:{caller.pid}" if caller.pid else f"seq:{seq_id}"
        seq = Sequence(seq_id, tokens, params, caller, tail, max_new, generator, score_from, flow)
        if params.guide is not None:
            seq.guide = self.guide.start(params.guide)
        self._seqs[seq_id] = self._waiting[seq_id] = seq
        self.policy.on_enqueue(seq.call)
        return seq_id

    def _admit(self, seq: Sequence) -> bool:
        if not self.kv.attach(seq):
            return False
        del self._waiting[seq.id]
        self._running[seq.id] = seq
        seq.status, seq.steps = Status.RUNNING, 0
        if not seq.dispatched:
            seq.dispatched = True
            self.policy.on_dispatch(seq.call)
            self.counters["prompt"] += seq.n_prompt
            self.counters["cached"] += min(seq.computed, seq.n_prompt)
            seq.cached = min(seq.computed, seq.n_prompt)
        return True

    def _preempt(self, seq: Sequence) -> None:
        self.kv.detach(seq, keep=True)
        del self._running[seq.id]
        self._waiting[seq.id] = seq
        seq.status = Status.WAITING
        self.counters["preempt"] += 1

    def _forget(self, seq: Sequence) -> None:
        self.kv.drop(seq)
        self._running.pop(seq.id, None)
        self._waiting.pop(seq.id, None)
        self._seqs.pop(seq.id, None)
        seq.status = Status.DONE
