"""A streamed model call whose consumer stops early: charged for what ran, and ended."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from llmagentos import Kernel, records
from llmagentos.storage import journal
from llmagentos.testing import LatencyModel


def slow_model() -> LatencyModel:
    # 100 words at 50 a second: two seconds, far longer than any consumer here listens.
    return LatencyModel(ttft_s=0.0, tokens_per_s=50, output_tokens=100, name="slow")


async def test_closing_a_stream_early_charges_and_ends_the_backend_call(
    make_kernel: Callable[..., Any],
) -> None:
    model = slow_model()
    kernel: Kernel = await make_kernel(models={"slow": model})
    seen: dict[str, Any] = {}

    async def prog(ctx: Any) -> int:
        got = 0
        async with contextlib.aclosing(ctx.stream("go on")) as chunks:
            async for _ in chunks:
                got += 1
                if got == 3:
                    break
        seen["in_flight"] = model.in_flight  # read before anything else can run
        return got

    status = await kernel.run(prog)
    assert status.state == "done" and status.result == 3
    assert seen["in_flight"] == 0 and model.calls == 1
    usage = kernel.get(status.pid).usage()
    assert usage.tokens_out == 3 and usage.tokens_in > 0 and usage.llm_calls == 1
    (entry,) = journal.load_entries(kernel.db, status.pid).values()
    answer = records.loads(entry.result or "")
    assert entry.finished and answer.finish_reason == "cancelled"
    assert answer.text == "tok0 tok1 tok2"


async def test_cancelling_the_consumer_charges_what_was_generated(
    make_kernel: Callable[..., Any],
) -> None:
    model = slow_model()
    kernel: Kernel = await make_kernel(models={"slow": model})
    started = asyncio.Event()

    async def prog(ctx: Any) -> int:
        async def consume() -> None:
            async for _ in ctx.stream("go on"):
                started.set()

        task = asyncio.create_task(consume())
        await started.wait()
        await asyncio.sleep(0.1)  # a few more words
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return model.in_flight

    status = await kernel.run(prog)
    assert status.state == "done" and status.result == 0
    usage = kernel.get(status.pid).usage()
    assert 1 <= usage.tokens_out < 50 and usage.llm_calls == 1


async def test_a_stream_read_to_its_end_is_charged_as_before(
    make_kernel: Callable[..., Any],
) -> None:
    model = LatencyModel(ttft_s=0.0, tokens_per_s=10_000, output_tokens=5, name="fast")
    kernel: Kernel = await make_kernel(models={"fast": model})

    async def prog(ctx: Any) -> str:
        return "".join([c.delta async for c in ctx.stream("hi")])

    status = await kernel.run(prog)
    assert status.result == "tok0 tok1 tok2 tok3 tok4"
    assert kernel.get(status.pid).usage().tokens_out == 5
    (entry,) = journal.load_entries(kernel.db, status.pid).values()
    assert records.loads(entry.result or "").finish_reason == "stop"
