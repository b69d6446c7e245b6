"""Recovery at boot, and the loop that applies commands other OS processes leave for the
kernel (the CLI's kill / suspend / resume) and flushes process accounting."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from llmagentos import records
from llmagentos.errors import LLMAgentOSError
from llmagentos.kernel.execution import describe
from llmagentos.kernel.process import Accounting, Process, ProcessState
from llmagentos.storage import journal

if TYPE_CHECKING:
    from llmagentos.kernel.kernel import Kernel


async def recover(k: Kernel) -> None:
    rows = k.db.query(
        "SELECT * FROM processes WHERE state NOT IN ('done', 'failed', 'killed') ORDER BY pid"
    )
    for row in rows:
        caps = records.loads(row["caps"])
        proc = Process(
            row["pid"],
            row["name"],
            row["program"],
            json.loads(row["args"]),
            row["parent"],
            row["priority"],
            caps,
            row["namespace"],
            created_at=row["created_at"],
            started_at=row["started_at"],
            restarts=row["restarts"] + 1,
        )
        proc.replay = journal.load_entries(k.db, proc.pid)
        proc.state = ProcessState.SUSPENDED if row["state"] == "suspended" else ProcessState.READY
        if proc.state is ProcessState.SUSPENDED:
            proc.resumed.clear()
        k._procs[proc.pid] = proc
    recovered = [k._procs[r["pid"]] for r in rows]
    for proc in recovered:
        # Ancestors that already ended are not reloaded; their budgets end with them.
        proc.link(k._procs.get(proc.parent) if proc.parent is not None else None)
    for proc, row in zip(recovered, rows, strict=True):
        # Replay rebuilds what the journal holds; summaries are not in it, their record is.
        spent = _summary_tokens(row["usage"])
        if spent:
            proc.charge_summary(spent)
    for proc in recovered:
        await k._persist(proc)
        k.log(
            proc,
            f"recovered after restart #{proc.restarts}; replaying"
            f" {len(proc.replay)} journaled calls",
            force=True,
        )
        k._start(proc)


def _summary_tokens(usage: str | None) -> int:
    try:
        value = records.loads(usage) if usage else None
    except (ValueError, TypeError, KeyError):  # damaged: it costs the count, not the recovery
        return 0
    return int(value.summary_tokens) if isinstance(value, Accounting) else 0


async def control_loop(k: Kernel) -> None:
    """Apply commands other OS processes (the CLI) left in the database; flush usage."""
    while True:
        await asyncio.sleep(k.config.control_poll_s)
        try:
            rows = k.db.query("SELECT id, command, pid FROM control WHERE done = 0")
            for row in rows:
                outcome = await apply_control(k, row["command"], row["pid"])
                await control_done(k, row["id"], outcome)
            await k._flush_dirty()
            await k.compactor.tick()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the control loop must outlive a bad command
            k.log_kernel_error("control loop", describe(exc))


async def apply_control(k: Kernel, command: str, pid: int) -> str:
    try:
        if command == "kill":
            return "killed" if await k.kill(pid, "killed by operator") else "already ended"
        if command == "suspend":
            await k.suspend(pid)
            return "suspended"
        if command == "resume":
            await k.resume(pid)
            return "resumed"
        return f"unknown command {command!r}"
    except LLMAgentOSError as exc:
        return f"error: {exc.message}"


async def control_done(k: Kernel, control_id: int, outcome: str) -> None:
    def mark(conn: Any) -> None:
        conn.execute("UPDATE control SET done = 1, outcome = ? WHERE id = ?", (outcome, control_id))

    await k.db.write(mark)
