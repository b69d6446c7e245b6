"""Helpers every syscall handler uses: journaling an effect, accounting, addressing."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llmagentos import records
from llmagentos.errors import InvalidArgument, LLMAgentOSError, UnknownProcess
from llmagentos.kernel import syscalls as sc
from llmagentos.kernel.process import Process
from llmagentos.llm.types import LLMResponse
from llmagentos.storage import journal

if TYPE_CHECKING:
    from llmagentos.kernel.kernel import Kernel

Effect = Callable[[sqlite3.Connection], Any]


async def effect(k: Kernel, proc: Process, seq: int, call: Any, fn: Effect) -> Any:
    """Run `fn` and journal its result in one transaction; journal errors too."""
    if not k.config.journal:
        return await k.db.write(fn)
    text = records.dumps(call)

    def run(conn: sqlite3.Connection) -> Any:
        value = fn(conn)
        journal.record_finished(conn, proc.pid, seq, call.kind, text, records.dumps(value))
        return value

    try:
        return await k.db.write(run)
    except LLMAgentOSError as exc:
        await k.journal_error(proc, seq, call, exc, text)
        raise


def unencodable(call: Any) -> InvalidArgument | None:
    """The error for a call the journal cannot encode (naming its field), or None if it can."""
    try:
        records.dumps(call)
        return None
    except (TypeError, ValueError) as exc:
        reason = str(exc)
    name = type(call).__name__
    field = next((f.name for f in dataclasses.fields(call) if _fails(getattr(call, f.name))), None)
    where = f"{name}.{field}" if field else name
    return InvalidArgument(
        f"{where} is not JSON-serialisable ({reason}); syscall arguments must be JSON values",
        call=name,
        field=field,
    )


def _fails(value: Any) -> bool:
    try:
        records.dumps(value)
    except (TypeError, ValueError):
        return True
    return False


def finish_call(
    k: Kernel, proc: Process, seq: int, call: Any, value: Any, text: str | None = None
) -> None:
    """Journal a call's result (`text`: the call's JSON when the caller already has it).

    Not awaited: see `JournalBuffer.finished` for why the result may reach the agent first.
    """
    if k.config.journal:
        text = text if text is not None else records.dumps(call)
        k.jbuf.finished(proc.pid, seq, call.kind, text, records.dumps(value))


def account(proc: Process, call: Any, value: Any) -> None:
    """Rebuild accounting from a journaled answer, as if the call had just run."""
    if isinstance(value, LLMResponse):
        proc.llm_calls += 1
        proc.tokens_in += value.usage.prompt_tokens
        proc.tokens_out += value.usage.completion_tokens
        proc.charge(tokens=value.usage.prompt_tokens + value.usage.completion_tokens)
    elif isinstance(call, sc.ToolInvoke):
        proc.tool_calls += 1
        proc.charge(tool_calls=1)


def resolve_pid(k: Kernel, to: int | str) -> int:
    if isinstance(to, int):
        if to in k._procs:
            return to
        row = k.db.query_one("SELECT pid FROM processes WHERE pid = ?", (to,))
    else:
        live = [p for p in k._procs.values() if p.name == to and not p.state.terminal]
        if live:
            return max(live, key=lambda p: p.pid).pid
        row = k.db.query_one(
            "SELECT pid FROM processes WHERE name = ? ORDER BY pid DESC LIMIT 1", (to,)
        )
    if row is None:
        raise UnknownProcess(f"no process {to!r} to send to", to=to)
    return int(row[0])


def notify(k: Kernel, pids: list[int]) -> None:
    for pid in pids:
        target = k._procs.get(pid)
        if target is not None:
            target.mailbox_signal.set()
