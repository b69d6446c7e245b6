"""Running a process's code: async programs as tasks, sync programs in worker threads."""

from __future__ import annotations

import asyncio
import threading
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llmagentos.errors import LLMAgentOSError, ProcessExit, ProcessKilled
from llmagentos.kernel.context import ProcessContext, SyncContext, current_context
from llmagentos.kernel.process import Process, ProcessState
from llmagentos.kernel.programs import is_async_program

if TYPE_CHECKING:
    from llmagentos.kernel.kernel import Kernel


async def run_process(k: Kernel, proc: Process) -> None:
    ctx = ProcessContext(k, proc)
    try:
        fn = k._resolve_program(proc.program)
        if proc.state is ProcessState.SUSPENDED:
            await proc.resumed.wait()
        proc.started_at = proc.started_at or time.time()
        k._set_state(proc, ProcessState.RUNNING)
        current_context.set(ctx)
        if is_async_program(fn):
            result = await fn(ctx, **proc.args)
        else:
            result = await run_in_thread(k, proc, fn, ctx)
        await k._finish(proc, ProcessState.DONE, result=result)
    except asyncio.CancelledError:
        if proc.killed:
            await k._finish(proc, ProcessState.KILLED, error=proc.error or "killed")
        else:
            raise  # kernel shutdown: the process stays live and is recovered at boot
    except ProcessKilled:
        await k._finish(proc, ProcessState.KILLED, error=proc.error or "killed")
    except ProcessExit:
        return
    except Exception as exc:
        detail = "".join(traceback.format_exception(exc, limit=-8))
        k.log(proc, detail, "error", force=True)
        await k._finish(proc, ProcessState.FAILED, error=describe(exc))


async def run_in_thread(
    k: Kernel, proc: Process, fn: Callable[..., Any], ctx: ProcessContext
) -> Any:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()
    sync_ctx = SyncContext(ctx, loop)

    def settle(ok: bool, value: Any) -> None:
        if not done.done():
            done.set_result(value) if ok else done.set_exception(value)

    def target() -> None:
        current_context.set(sync_ctx)
        try:
            value = fn(sync_ctx, **proc.args)
        except BaseException as exc:
            if not loop.is_closed():
                loop.call_soon_threadsafe(settle, False, exc)
            return
        if not loop.is_closed():
            loop.call_soon_threadsafe(settle, True, value)

    threading.Thread(target=target, name=f"pid-{proc.pid}", daemon=True).start()
    return await done


def describe(exc: BaseException) -> str:
    """`Type: message` for a process's error column."""
    if isinstance(exc, LLMAgentOSError):
        return f"{type(exc).__name__}: {exc.message}"
    return f"{type(exc).__name__}: {exc}"
