"""What one generation asks for and what it gives back: plain records, no torch."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from llmagentos.errors import InvalidArgument
from llmagentos.llm.guides import Guide
from llmagentos.llm.types import FinishReason


@dataclass(frozen=True, slots=True)
class SamplingParams:
    """How to pick tokens: greedy at `temperature == 0`, else sampled with nucleus `top_p`.

    `seed` makes sampling reproducible whatever else shares the batch: every sequence draws
    from its own generator. `ignore_eos` keeps generating past the end-of-sequence token
    (benchmarks use it to fix output lengths). `guide` keeps the text on its way to a reply
    the guide accepts (`llm.guides`): the model's most likely token that fits, each step.
    """

    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    logprobs: bool = False
    ignore_eos: bool = False
    guide: Guide | None = field(default=None, compare=False)

    def check(self) -> None:
        """Raise `InvalidArgument` for values no generation can honour."""
        if self.max_tokens < 1:
            raise InvalidArgument(f"max_tokens must be >= 1, got {self.max_tokens}")
        if not (math.isfinite(self.temperature) and self.temperature >= 0):
            raise InvalidArgument(
                f"temperature must be a finite number >= 0, got {self.temperature}"
            )
        if not (0 < self.top_p <= 1):
            raise InvalidArgument(f"top_p must be in (0, 1], got {self.top_p}")
        if any(not s for s in self.stop):
            raise InvalidArgument("stop strings must not be empty")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass(frozen=True, slots=True)
class Caller:
    """Whom a sequence serves, for the engine's policy: process, program, priority."""

    pid: int = 0
    program: str = ""
    priority: int = 0


@dataclass(frozen=True, slots=True)
class TokenEvent:
    """What one step did for one sequence: new tokens, the text they add, and whether it ended.

    `text` is only the part that is final: text that may still turn out to be the start of a
    stop string, or half of a multi-byte character, is held back until it is not.
    """

    seq_id: int
    token_ids: tuple[int, ...] = ()
    text: str = ""
    logprobs: tuple[float, ...] = ()
    finish_reason: FinishReason | None = None
    result: Generation | Score | None = None  # on the last event


@dataclass(frozen=True, slots=True)
class Generation:
    """A finished generation."""

    seq_id: int
    prompt_ids: tuple[int, ...]
    token_ids: tuple[int, ...]
    text: str
    finish_reason: FinishReason
    logprobs: tuple[float, ...] = ()
    cached_tokens: int = 0  # prompt tokens whose KV came from the prefix cache

    @property
    def logprob(self) -> float:
        """Log-likelihood of the generated tokens (needs `SamplingParams.logprobs`)."""
        return math.fsum(self.logprobs)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An interrupted generation, enough to continue it exactly where it stopped.

    `rng_state` is the sampler's generator state, so even a sampled generation continues
    with the draws it would have made.
    """

    prompt_ids: tuple[int, ...]
    token_ids: tuple[int, ...]
    params: SamplingParams
    caller: Caller = Caller()
    logprobs: tuple[float, ...] = ()
    rng_state: bytes | None = None


@dataclass(frozen=True, slots=True)
class Score:
    """Log-probabilities of a continuation given a context: P(Y|X) token by token."""

    token_ids: tuple[int, ...]
    logprobs: tuple[float, ...]
    cached_tokens: int = 0

    @property
    def logprob(self) -> float:
        """log P(Y|X), the sum of the per-token log-probabilities."""
        return math.fsum(self.logprobs)
