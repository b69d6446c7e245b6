"""`LocalBackend`: a Hugging Face causal LM hosted in the kernel process (`hf:` specs).

Requests from every agent go into one continuous-batching engine (`engine.py`) on its own
thread. The kernel admits up to `max_concurrency` calls; inside the engine, the same kind
of policy the kernel uses (by the caller's pid, program and priority, which the kernel
hands over through `current_caller`) decides which `max_batch` of them run each step, and
preempts the others without losing their KV.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

from llmagentos.errors import InvalidArgument, InvalidState, MalformedModelOutput
from llmagentos.llm.base import current_caller
from llmagentos.llm.guides import Guide, response_guide, tool_reply_guide
from llmagentos.llm.local.chat import render
from llmagentos.llm.local.config import EngineConfig, EngineStats
from llmagentos.llm.local.engine import EngineCore
from llmagentos.llm.local.loader import LoadedModel, load_model
from llmagentos.llm.local.params import Caller, Generation, SamplingParams, Score, Snapshot
from llmagentos.llm.local.runner import EngineRunner, Handle
from llmagentos.llm.toolcalls import parse_model_output
from llmagentos.llm.types import (
    LLMRequest,
    LLMResponse,
    Message,
    StreamChunk,
    TokenLogprob,
    ToolCallRequest,
    Usage,
)

_ENCODED = 256  # prompt encodings remembered between count_prompt_tokens and the call


class LocalBackend:
    """A local model behind `LLMBackend`. Options (also as `hf:` spec options):

    - `device` (`cpu`, `cuda`, `cuda:1`), `dtype` (default float32 on CPU, bfloat16 on
      CUDA), `context_window` (cap the model's), `threads` (torch's, process-wide);
    - `max_batch` rows decoded together, `max_batch_tokens` per step, `max_concurrency`
      calls the kernel may hand in at once (default 4 x `max_batch`: the rest wait inside,
      ranked by `policy`: `las` (per agent, default), `las-program`, `fifo`, `priority`,
      `rr`), `min_steps` a sequence runs before it can be preempted;
    - `prefix_cache`, `kv_memory_gb` (batch rows plus parked KV), `kv_ttl_s` (how long a
      finished call's KV waits for the agent's next turn), `cascade_min`;
    - `ignore_eos` generates exactly `max_tokens` (benchmarks);
    - `guided_tools`: when a request offers tools, decode the reply under
      `guides.tool_reply_guide` (`{"tool": ..., "arguments": ...}` fitting that tool's
      schema, or `{"answer": ...}`). For models trained on that reply format (the builtin
      ones, where it is on by default); other models write tool calls their own way.
      A request's own `response_format` (JSON schema, JSON object, choice) is always
      honoured, whatever this option says.
    """

    wants_caller = True

    def __init__(
        self,
        source: str | LoadedModel,
        *,
        name: str | None = None,
        device: str = "cpu",
        dtype: str | None = None,
        context_window: int | None = None,
        threads: int | None = None,
        max_batch: int = 32,
        max_batch_tokens: int | None = None,
        max_concurrency: int | None = None,
        policy: str = "las",
        min_steps: int = 4,
        prefix_cache: bool = True,
        kv_memory_gb: float = 2.0,
        kv_ttl_s: float = 600.0,
        ignore_eos: bool = False,
        cascade_min: int = 64,
        guided_tools: bool = False,
    ) -> None:
        loaded = (
            source
            if isinstance(source, LoadedModel)
            else load_model(
                source, device=device, dtype=dtype, window=context_window, threads=threads
            )
        )
        self.loaded = loaded
        self.tokenizer = loaded.tokenizer
        self.name = name or f"hf:{loaded.source}"
        self.context_window: int | None = loaded.window
        self.max_concurrency = max_concurrency or 4 * max_batch
        self.ignore_eos = ignore_eos
        self.guided_tools = guided_tools
        self._guides: OrderedDict[str, Guide] = OrderedDict()
        config = EngineConfig(
            max_batch=max_batch,
            max_batch_tokens=max_batch_tokens or max(512, max_batch),
            policy=policy,
            min_steps=min_steps,
            prefix_cache=prefix_cache,
            kv_budget_bytes=int(kv_memory_gb * (1 << 30)),
            kv_ttl_s=kv_ttl_s,
            cascade_min=cascade_min,
        )
        core = EngineCore(
            loaded.model,
            self.tokenizer,
            eos_ids=loaded.eos_ids,
            window=loaded.window,
            config=config,
        )
        self.runner = EngineRunner(core, name=f"engine:{self.name}")
        self._encoded: OrderedDict[int, tuple[LLMRequest, list[int]]] = OrderedDict()
        self._closed = False

    def __repr__(self) -> str:
        return f"LocalBackend({self.loaded.source!r}, device={str(self.loaded.device)!r})"

    # -- LLMBackend -------------------------------------------------------------------------

    def count_prompt_tokens(self, request: LLMRequest) -> int:
        """The exact prompt length (for budgets and window fitting); never raises for
        content: a message alone, even an empty one, counts what the template makes of it."""
        hit = self._encoded.get(id(request))
        if hit is not None and hit[0] is request:
            return len(hit[1])
        try:
            return len(self._encode(request))
        except InvalidArgument:
            return len(render(self.tokenizer, request, check=False))

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Generate an answer to `request`."""
        prompt, handle = await self._start(request)
        result = None
        try:
            async for event in handle.events():
                if event.result is not None:
                    result = event.result
        finally:
            handle.cancel()
        assert isinstance(result, Generation)
        return self._response(request, prompt, result)

    async def stream(self, request: LLMRequest) -> AsyncIterator[StreamChunk]:
        """Stream the answer: text as it becomes final, then a chunk with the finish reason."""
        prompt, handle = await self._start(request)
        try:
            async for event in handle.events():
                lps = self._logprobs(event.token_ids, event.logprobs) if request.logprobs else None
                if event.result is None:
                    if event.text or lps:
                        yield StreamChunk(delta=event.text, logprobs=lps)
                    continue
                assert isinstance(event.result, Generation)
                last = self._response(request, prompt, event.result)
                if event.text or lps:
                    yield StreamChunk(delta=event.text, logprobs=lps)
                yield StreamChunk(
                    delta="",
                    finish_reason=last.finish_reason,
                    usage=last.usage,
                    tool_calls=last.message.tool_calls,
                )
        finally:
            handle.cancel()

    async def aclose(self) -> None:
        """Stop the engine thread; calls still in flight fail with `BackendUnavailable`."""
        if not self._closed:
            self._closed = True
            await asyncio.to_thread(self.runner.close)

    # -- beyond the protocol ----------------------------------------------------------------

    async def score(self, context: str | LLMRequest, continuation: str) -> Score:
        """log P(continuation | context) token by token (the seeds' plan scoring).

        `context` is raw text, or a request whose chat-templated prompt is the context.
        """
        self._check_open()
        if isinstance(context, str):
            ctx = self.tokenizer.encode(context) if context else []
        else:
            ctx = self._encode(context)
        cont = self.tokenizer.encode(continuation, add_special_tokens=False) if continuation else []
        caller = _caller()
        handle = await self.runner.start(lambda core: core.add_score(ctx, cont, caller))
        result = None
        try:
            async for event in handle.events():
                result = event.result if event.result is not None else result
        finally:
            handle.cancel()
        assert isinstance(result, Score)
        return result

    async def loglikelihood(self, context: str | LLMRequest, continuation: str) -> float:
        """log P(continuation | context), summed over its tokens."""
        return (await self.score(context, continuation)).logprob

    async def start(self, request: LLMRequest) -> Handle:
        """Start a generation and return its handle: `events()` as they come, `cancel()`,
        and `snapshot(handle)` to interrupt it and `resume` it later, exactly."""
        _, handle = await self._start(request)
        return handle

    async def snapshot(self, handle: Handle) -> Snapshot:
        """The state of an unfinished generation started with `start` (or `resume`)."""
        seq_id = handle.seq_id
        if seq_id is None or handle.done:
            raise InvalidArgument("this handle has no unfinished generation")
        return await asyncio.wrap_future(self.runner.call(lambda core: core.snapshot(seq_id)))

    async def resume(self, snapshot: Snapshot) -> Handle:
        """Continue an interrupted generation: the same tokens an uninterrupted one gives
        under greedy decoding (and under seeded sampling: the sampler's state is restored)."""
        self._check_open()
        return await self.runner.start(lambda core: core.restore(snapshot))

    async def stats(self) -> EngineStats:
        """Engine counters: steps, tokens, prefix hit rate, preemptions, KV memory."""
        return await asyncio.wrap_future(self.runner.call(lambda core: core.stats()))

    # -- helpers ----------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidState(f"{self.name} is closed")

    def _encode(self, request: LLMRequest) -> list[int]:
        hit = self._encoded.get(id(request))
        if hit is not None and hit[0] is request:
            return hit[1]
        ids = render(self.tokenizer, request)
        self._encoded[id(request)] = (request, ids)  # holding `request` keeps its id unique
        if len(self._encoded) > _ENCODED:
            self._encoded.popitem(last=False)
        return ids

    def _params(self, request: LLMRequest) -> SamplingParams:
        return SamplingParams(
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            top_p=request.top_p,
            seed=request.seed,
            stop=request.stop,
            logprobs=request.logprobs,
            ignore_eos=self.ignore_eos,
            guide=self._guide(request),
        )

    def _guide(self, request: LLMRequest) -> Guide | None:
        """The shape the reply must take: the request's `response_format`, else (with
        `guided_tools`) a tool call or answer when tools are offered, else none."""
        if request.response_format is not None:
            key = json.dumps(request.response_format, sort_keys=True)
            make: Any = lambda: response_guide(request.response_format or {})  # noqa: E731
        elif self.guided_tools and request.tools and not request.raw_prompt:
            key = json.dumps([[t.name, t.parameters] for t in request.tools], sort_keys=True)
            make = lambda: tool_reply_guide(request.tools)  # noqa: E731
        else:
            return None
        guide = self._guides.get(key)
        if guide is None:
            guide = self._guides[key] = make()
            if len(self._guides) > _ENCODED:
                self._guides.popitem(last=False)
        return guide

    async def _start(self, request: LLMRequest) -> tuple[list[int], Handle]:
        self._check_open()
        prompt = self._encode(request)
        params, caller = self._params(request), _caller()
        handle = await self.runner.start(lambda core: core.add(prompt, params, caller))
        return prompt, handle

    def _logprobs(self, ids: tuple[int, ...], lps: tuple[float, ...]) -> tuple[TokenLogprob, ...]:
        return tuple(
            TokenLogprob(token=self.tokenizer.decode([i]), logprob=lp)
            for i, lp in zip(ids, lps, strict=False)
        )

    def _response(self, request: LLMRequest, prompt: list[int], gen: Generation) -> LLMResponse:
        logprobs = self._logprobs(gen.token_ids, gen.logprobs) if request.logprobs else None
        return to_response(request, len(prompt), gen, self.name, logprobs)


def to_response(
    request: LLMRequest,
    prompt_tokens: int,
    gen: Generation,
    model: str = "",
    logprobs: tuple[TokenLogprob, ...] | None = None,
) -> LLMResponse:
    """The `LLMResponse` for a finished generation; with tools offered, tool calls written in
    the text (any form `parse_model_output` reads) become native tool calls."""
    text, finish = gen.text, gen.finish_reason
    calls: tuple[ToolCallRequest, ...] = ()
    if request.tools:
        text, calls = _tool_calls(text)
        if calls:
            finish = "tool_calls"
    return LLMResponse(
        message=Message(role="assistant", content=text, tool_calls=calls),
        finish_reason=finish,
        usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=len(gen.token_ids)),
        model=model,
        logprobs=logprobs,
    )


def _tool_calls(text: str) -> tuple[str, tuple[ToolCallRequest, ...]]:
    """Tool calls written in the text; malformed ones leave the text for the agent to see."""
    try:
        parsed = parse_model_output(text)
    except MalformedModelOutput:
        return text, ()
    if not parsed.tool_calls:
        return text, ()
    return parsed.text, parsed.tool_calls


def _caller() -> Caller:
    info = current_caller.get()
    if info is None:
        return Caller()
    return Caller(pid=info.pid, program=info.program, priority=info.priority)
