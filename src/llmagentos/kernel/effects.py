"""Handlers of effect and blocking syscalls: storage, memory, messages, processes, clock."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from llmagentos import records
from llmagentos.access import derive, target_of
from llmagentos.errors import (
    InvalidArgument,
    LLMAgentOSError,
    PermissionDenied,
    SyscallTimeout,
    UnknownProcess,
)
from llmagentos.ipc import mailbox
from llmagentos.kernel import syscalls as sc
from llmagentos.kernel.callkit import effect, finish_call, notify, resolve_pid
from llmagentos.kernel.process import Process, ProcessState
from llmagentos.storage import files, journal, kv

if TYPE_CHECKING:
    from llmagentos.kernel.kernel import Kernel


# -- storage and memory -----------------------------------------------------------------


async def kv_put(k: Kernel, proc: Process, seq: int, call: sc.KVPut, entry: Any) -> None:
    ns = call.namespace or proc.namespace
    await effect(k, proc, seq, call, lambda c: kv.kv_put(c, ns, call.key, call.value))


async def kv_get(k: Kernel, proc: Process, seq: int, call: sc.KVGet, entry: Any) -> Any:
    ns = call.namespace or proc.namespace
    return await effect(k, proc, seq, call, lambda c: kv.kv_get(c, ns, call.key, call.default))


async def kv_delete(k: Kernel, proc: Process, seq: int, call: sc.KVDelete, entry: Any) -> bool:
    ns = call.namespace or proc.namespace
    return bool(await effect(k, proc, seq, call, lambda c: kv.kv_delete(c, ns, call.key)))


async def kv_list(k: Kernel, proc: Process, seq: int, call: sc.KVList, entry: Any) -> list[str]:
    ns = call.namespace or proc.namespace
    return list(await effect(k, proc, seq, call, lambda c: kv.kv_list(c, ns, call.prefix)))


async def file_write(k: Kernel, proc: Process, seq: int, call: sc.FileWrite, entry: Any) -> int:
    ns = call.namespace or proc.namespace
    quota = k.config.storage.quota(ns)
    return int(
        await effect(
            k, proc, seq, call, lambda c: files.write(c, ns, call.path, call.content, quota)
        )
    )


async def file_read(k: Kernel, proc: Process, seq: int, call: sc.FileRead, entry: Any) -> Any:
    ns = call.namespace or proc.namespace
    return await effect(k, proc, seq, call, lambda c: files.read(c, ns, call.path, call.version))


async def file_list(k: Kernel, proc: Process, seq: int, call: sc.FileList, entry: Any) -> Any:
    ns = call.namespace or proc.namespace
    return await effect(k, proc, seq, call, lambda c: files.listing(c, ns, call.prefix))


async def file_delete(k: Kernel, proc: Process, seq: int, call: sc.FileDelete, entry: Any) -> Any:
    ns = call.namespace or proc.namespace
    quota = k.config.storage.quota(ns)
    return await effect(k, proc, seq, call, lambda c: files.delete(c, ns, call.path, quota))


async def file_history(
    k: Kernel, proc: Process, seq: int, call: sc.FileHistory, entry: Any
) -> list[sc.FileVersion]:
    ns = call.namespace or proc.namespace
    await _guard(k, proc, seq, call, sc.FileRead(call.path, call.namespace))
    return list(await effect(k, proc, seq, call, lambda c: files.history(c, ns, call.path)))


async def file_rollback(
    k: Kernel, proc: Process, seq: int, call: sc.FileRollback, entry: Any
) -> int:
    ns = call.namespace or proc.namespace
    quota = k.config.storage.quota(ns)
    await _guard(k, proc, seq, call, sc.FileWrite(call.path, "", call.namespace))
    return int(
        await effect(
            k, proc, seq, call, lambda c: files.rollback(c, ns, call.path, call.version, quota)
        )
    )


async def file_diff(k: Kernel, proc: Process, seq: int, call: sc.FileDiff, entry: Any) -> str:
    ns = call.namespace or proc.namespace
    await _guard(k, proc, seq, call, sc.FileRead(call.path, call.namespace))
    return str(
        await effect(k, proc, seq, call, lambda c: files.diff(c, ns, call.path, call.old, call.new))
    )


async def _guard(k: Kernel, proc: Process, seq: int, call: sc.Syscall, like: sc.Syscall) -> None:
    """Check a versioned-file call as the plain file call it resembles, while access
    control does not name it yet (then this is a no-op: the kernel checked it already)."""
    if target_of(call, proc.namespace)[0]:
        return
    decision = k.access.check(proc.subject, proc.caps, like, proc.namespace)
    if decision.effect == "allow":
        return
    reason = decision.reason if decision.effect == "deny" else f"needs approval: {decision.reason}"
    exc = PermissionDenied(reason, pid=proc.pid)
    await k.journal_error(proc, seq, call, exc)
    raise exc


async def remember(k: Kernel, proc: Process, seq: int, call: sc.Remember, entry: Any) -> str:
    ns = call.namespace or proc.namespace
    try:  # validate, and embed when the namespace is indexed: before the transaction
        prepared = await k.memory.prepare(ns, [call.text], [call.metadata])
    except LLMAgentOSError as exc:
        await k.journal_error(proc, seq, call, exc)
        raise
    mid = str(await effect(k, proc, seq, call, lambda c: k.memory.write(c, prepared)[0]))
    await k.memory.added(prepared, [mid])
    return mid


async def recall(k: Kernel, proc: Process, seq: int, call: sc.Recall, entry: Any) -> Any:
    ns = call.namespace or proc.namespace
    try:
        items = await k.memory.recall(
            ns, call.query, call.k, call.where, must_exist=ns != proc.namespace
        )
    except LLMAgentOSError as exc:
        await k.journal_error(proc, seq, call, exc)
        raise
    finish_call(k, proc, seq, call, items)
    return items


async def forget(k: Kernel, proc: Process, seq: int, call: sc.Forget, entry: Any) -> Any:
    ns = call.namespace or proc.namespace
    gone = bool(
        await effect(k, proc, seq, call, lambda c: k.memory.write_forget(c, ns, call.memory_id))
    )
    if gone:
        k.memory.forgotten(ns, call.memory_id)
    return gone


# -- messages ----------------------------------------------------------------------------


async def send(k: Kernel, proc: Process, seq: int, call: sc.Send, entry: Any) -> int:
    try:
        to = resolve_pid(k, call.to)
    except UnknownProcess as exc:
        await k.journal_error(proc, seq, call, exc)
        raise
    mid = await effect(
        k,
        proc,
        seq,
        call,
        lambda c: mailbox.deliver(c, proc.pid, to, call.payload, reply_to=call.reply_to),
    )
    notify(k, [to])
    return int(mid)


async def publish(k: Kernel, proc: Process, seq: int, call: sc.Publish, entry: Any) -> int:
    targets: list[int] = []

    def run(c: Any) -> int:
        targets[:] = [p for p in mailbox.subscribers(c, call.topic) if p != proc.pid]
        for pid in targets:
            mailbox.deliver(c, proc.pid, pid, call.payload, topic=call.topic)
        return len(targets)

    count = await effect(k, proc, seq, call, run)
    notify(k, targets)
    return int(count)


async def subscribe(k: Kernel, proc: Process, seq: int, call: sc.Subscribe, entry: Any) -> None:
    proc.subscriptions.add(call.topic)
    await effect(k, proc, seq, call, lambda c: mailbox.subscribe(c, call.topic, proc.pid))


async def unsubscribe(k: Kernel, proc: Process, seq: int, call: sc.Unsubscribe, entry: Any) -> None:
    proc.subscriptions.discard(call.topic)
    await effect(k, proc, seq, call, lambda c: mailbox.unsubscribe(c, call.topic, proc.pid))


async def reply(k: Kernel, proc: Process, seq: int, call: sc.Reply, entry: Any) -> int:
    def run(c: Any) -> int:
        found = mailbox.sender_of(c, call.to_message)
        if found is None:
            raise InvalidArgument(f"there is no message {call.to_message} to reply to")
        sender, recipient = found
        if recipient != proc.pid:
            raise PermissionDenied(
                f"process {proc.pid} cannot reply to message {call.to_message}: it was not"
                " addressed to it"
            )
        targets.append(sender)
        return mailbox.deliver(c, proc.pid, sender, call.payload, correlation=call.to_message)

    targets: list[int] = []
    mid = await effect(k, proc, seq, call, run)
    notify(k, targets)
    return int(mid)


async def take_message(
    k: Kernel, proc: Process, seq: int, call: Any, timeout: float | None, **filters: Any
) -> sc.Envelope | None:
    """Block until a matching message can be consumed together with the journal entry."""
    deadline = None if timeout is None else time.monotonic() + timeout
    k._set_state(proc, ProcessState.WAITING)
    try:
        while True:
            proc.mailbox_signal.clear()
            env = await k.db.write(lambda c: _take_and_journal(k, c, proc, seq, call, filters))
            if env is not None:
                return env
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            try:
                await asyncio.wait_for(proc.mailbox_signal.wait(), remaining)
            except TimeoutError:
                pass
    finally:
        if proc.state is ProcessState.WAITING:
            k._set_state(proc, ProcessState.RUNNING)


def _take_and_journal(
    k: Kernel, conn: Any, proc: Process, seq: int, call: Any, filters: dict[str, Any]
) -> sc.Envelope | None:
    env = mailbox.take(conn, proc.pid, **filters)
    if env is not None and k.config.journal:
        journal.record_finished(
            conn, proc.pid, seq, call.kind, records.dumps(call), records.dumps(env)
        )
    return env


async def receive(k: Kernel, proc: Process, seq: int, call: sc.Receive, entry: Any) -> Any:
    env = await take_message(
        k, proc, seq, call, call.timeout_s, topic=call.topic, sender=call.sender
    )
    if env is None:
        finish_call(k, proc, seq, call, None)
    return env


async def request(k: Kernel, proc: Process, seq: int, call: sc.Request, entry: Any) -> Any:
    if entry is not None and entry.progress is not None:
        mid = int(entry.progress)  # sent before the crash: only the wait is left
    else:
        try:
            to = resolve_pid(k, call.to)
        except UnknownProcess as exc:
            await k.journal_error(proc, seq, call, exc)
            raise
        text = records.dumps(call)

        def send(c: Any) -> int:
            m = mailbox.deliver(c, proc.pid, to, call.payload)
            if k.config.journal:
                journal.record_started(c, proc.pid, seq, "ipc", text, progress=str(m))
            return m

        mid = await k.db.write(send)
        notify(k, [to])
    env = await take_message(k, proc, seq, call, call.timeout_s, correlation=mid)
    if env is None:
        timeout = SyscallTimeout(f"no reply to message {mid} within {call.timeout_s}s")
        await k.journal_error(proc, seq, call, timeout)
        raise timeout
    return env


# -- processes and time ------------------------------------------------------------------


async def spawn(k: Kernel, proc: Process, seq: int, call: sc.Spawn, entry: Any) -> int:
    try:
        if proc.caps.spawn is False:
            raise PermissionDenied(f"process {proc.pid} may not spawn processes")
        k._resolve_program(call.program)
        caps = derive(proc.caps, call.capabilities)
        child = k._new_process(call.program, call.args, call.name, call.priority, caps, proc.pid)
    except Exception as exc:
        await k.journal_error(proc, seq, call, exc)
        raise

    def insert(conn: Any) -> int:
        k._insert_process(conn, child)
        return child.pid

    await effect(k, proc, seq, call, insert)
    k._start(child)
    return child.pid


async def wait(k: Kernel, proc: Process, seq: int, call: sc.Wait, entry: Any) -> Any:
    k._set_state(proc, ProcessState.WAITING)
    try:
        status = await k.wait(call.pid, call.timeout_s)
    except TimeoutError:
        exc = SyscallTimeout(f"process {call.pid} did not end within {call.timeout_s}s")
        await k.journal_error(proc, seq, call, exc)
        raise exc from None
    except UnknownProcess as exc:
        await k.journal_error(proc, seq, call, exc)
        raise
    finally:
        if proc.state is ProcessState.WAITING:
            k._set_state(proc, ProcessState.RUNNING)
    finish_call(k, proc, seq, call, status)
    return status


async def kill(k: Kernel, proc: Process, seq: int, call: sc.Kill, entry: Any) -> bool:
    try:
        target = k.get(call.pid)
        if not is_ancestor(k, proc.pid, target):
            raise PermissionDenied(
                f"process {proc.pid} may only kill its own descendants, not {call.pid}"
            )
    except Exception as exc:
        await k.journal_error(proc, seq, call, exc)
        raise
    ended = await k.kill(call.pid, f"killed by process {proc.pid}")
    finish_call(k, proc, seq, call, ended)
    return ended


def is_ancestor(k: Kernel, pid: int, target: Process) -> bool:
    parent = target.parent
    while parent is not None:
        if parent == pid:
            return True
        up = k._procs.get(parent)
        parent = up.parent if up else None
    return False


async def now(k: Kernel, proc: Process, seq: int, call: sc.Now, entry: Any) -> float:
    now = time.time()
    finish_call(k, proc, seq, call, now)
    return now


async def sleep(k: Kernel, proc: Process, seq: int, call: sc.Sleep, entry: Any) -> None:
    if call.seconds < 0:
        raise InvalidArgument("cannot sleep a negative time")
    started = entry.started_at if entry is not None else time.time()
    if entry is None and k.config.journal:
        text = records.dumps(call)
        await k.jbuf.durable_started(proc.pid, seq, "clock", text)
    k._set_state(proc, ProcessState.WAITING)
    try:
        await asyncio.sleep(max(0.0, started + call.seconds - time.time()))
    finally:
        if proc.state is ProcessState.WAITING:
            k._set_state(proc, ProcessState.RUNNING)
    finish_call(k, proc, seq, call, None)
