"""One sequence's state inside the engine (mutable; only the engine thread touches it)."""

from __future__ import annotations

import enum
import time
from typing import Any

from llmagentos.kernel.scheduler import QueuedCall
from llmagentos.llm.local.detok import TextTail
from llmagentos.llm.local.params import Caller, SamplingParams


class Status(enum.Enum):
    WAITING = "waiting"  # never ran, or preempted: no row
    RUNNING = "running"  # holds a batch row
    DONE = "done"  # finished; its KV may stay parked for the agent's next turn


class Sequence:
    """Tokens, KV whereabouts, sampler state and text of one generation or scoring."""

    __slots__ = (
        "arrival",
        "cached",
        "call",
        "caller",
        "computed",
        "dispatched",
        "finish",
        "generator",
        "guide",
        "hashes",
        "id",
        "logprobs",
        "max_new",
        "n_prompt",
        "params",
        "root",
        "root_len",
        "row",
        "score_from",
        "scores",
        "status",
        "steps",
        "tail",
        "tokens",
    )

    def __init__(
        self,
        seq_id: int,
        prompt: list[int],
        params: SamplingParams,
        caller: Caller,
        tail: TextTail,
        max_new: int,
        generator: Any = None,
        score_from: int | None = None,
        flow: str | None = None,
    ) -> None:
        self.id = seq_id
        self.tokens = prompt
        self.n_prompt = len(prompt)
        self.params = params
        self.caller = caller
        self.tail = tail
        self.max_new = max_new
        self.generator = generator
        self.guide: Any = None  # the token guide's state, when `params.guide` is set
        self.score_from = score_from  # scoring: log P(tokens[i]) for i >= score_from
        self.scores: list[float] = []
        self.arrival = time.monotonic()
        self.call = QueuedCall(
            call_id=seq_id,
            pid=caller.pid,
            program=caller.program if flow is None else flow,
            resource="engine",
            priority=caller.priority,
            enqueued_at=self.arrival,
            est_tokens=max_new,
        )
        self.status = Status.WAITING
        self.row: int | None = None
        # KV lineage: positions [0, root_len) hold a copy of what computation `root` made.
        self.root = 0
        self.root_len = 0
        self.computed = 0  # tokens whose KV exists (in the row, or in the store)
        self.cached = 0  # prompt tokens that came from the prefix cache
        self.steps = 0  # steps since (re)admission
        self.dispatched = False
        self.logprobs: list[float] = []
        self.hashes: list[int] = []  # block hashes of `tokens`, extended lazily
        self.finish: str | None = None

    @property
    def generated(self) -> int:
        return len(self.tokens) - self.n_prompt

    @property
    def todo(self) -> int:
        """Tokens to feed before the next sample (1 when decoding), or left to score."""
        if self.score_from is not None:
            return len(self.tokens) - 1 - self.computed  # the last token predicts nothing
        return len(self.tokens) - self.computed

    @property
    def scoring(self) -> bool:
        return self.score_from is not None

    def wants_logits(self, position: int) -> bool:
        """Whether the logits after `position` are needed: to sample, or to score a token."""
        if self.score_from is not None:
            return self.score_from - 1 <= position <= len(self.tokens) - 2
        return position == len(self.tokens) - 1
