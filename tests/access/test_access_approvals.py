"""Approvals: durable requests, idempotent on (pid, seq), decided from another OS process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import llmagentos
from llmagentos.access import SCHEMAS, ApprovalStore
from llmagentos.errors import (
    ApprovalRejected,
    InvalidArgument,
    InvalidState,
    NondeterminismError,
    NotFound,
    SyscallTimeout,
)
from llmagentos.kernel.syscalls import KVPut, Syscall, ToolInvoke
from llmagentos.storage.db import Database

SRC = str(Path(llmagentos.__file__).resolve().parents[1])
CALL = ToolInvoke("shell", {"cmd": "ls"})


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "os.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[ApprovalStore]:
    db = Database(db_path).open(SCHEMAS)
    yield ApprovalStore(db)
    db.close()


async def ask(store: ApprovalStore, seq: int = 1, call: Syscall = CALL) -> int:
    approval = await store.request(7, seq, "apps.x:main", call, "tool", "shell", "shell needs ok")
    return approval.id


def decide_elsewhere(
    db_path: Path, approval_id: int, approve: bool
) -> subprocess.CompletedProcess[str]:
    """Decide in a separate Python process, the way the CLI does."""
    code = (
        "import sys\n"
        "from llmagentos.access import SCHEMAS, ApprovalStore\n"
        "from llmagentos.storage.db import Database\n"
        "db = Database(sys.argv[1]).open(SCHEMAS)\n"
        "store = ApprovalStore(db)\n"
        "a = store.decide(int(sys.argv[2]), sys.argv[3] == '1', 'alice', 'looks fine')\n"
        "db.close()\n"
        "print(a.status)\n"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    args = [sys.executable, "-c", code, str(db_path), str(approval_id), "1" if approve else "0"]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=60, check=False)


async def test_request_is_stored_and_idempotent_on_pid_seq(store: ApprovalStore) -> None:
    first = await store.request(7, 1, "apps.x:main", CALL, "tool", "shell", "needs ok")
    again = await store.request(7, 1, "apps.x:main", CALL, "tool", "shell", "needs ok")
    other = await store.request(7, 2, "apps.x:main", CALL, "tool", "shell", "needs ok")
    assert again == first and other.id != first.id
    assert first.status == "pending" and first.decided_by is None
    assert first.syscall() == CALL
    assert [a.id for a in store.list()] == [first.id, other.id]


async def test_replay_finds_the_earlier_decision(store: ApprovalStore, db_path: Path) -> None:
    approval_id = await ask(store)
    store.decide(approval_id, approve=True, by="bob")
    store.db.close()
    # a restarted kernel on the same file, replaying the process
    db = Database(db_path).open(SCHEMAS)
    try:
        replayed = await ApprovalStore(db).request(7, 1, "apps.x:main", CALL, "tool", "shell", "")
        assert replayed.id == approval_id and replayed.status == "approved"
        assert replayed.decided_by == "bob"
    finally:
        db.close()


async def test_replay_with_a_different_call_is_refused(store: ApprovalStore) -> None:
    await ask(store)
    with pytest.raises(NondeterminismError, match="different call at seq 1"):
        await ask(store, call=KVPut("k", 1))


async def test_decision_from_another_process_ends_wait(store: ApprovalStore, db_path: Path) -> None:
    approval_id = await ask(store)
    waiter = asyncio.create_task(store.wait(approval_id, poll_s=0.05, timeout_s=30))
    await asyncio.sleep(0.1)
    assert not waiter.done()
    done = await asyncio.to_thread(decide_elsewhere, db_path, approval_id, True)
    assert done.returncode == 0, done.stderr
    approval = await asyncio.wait_for(waiter, 10)
    assert approval.status == "approved" and approval.decided_by == "alice"
    assert approval.note == "looks fine" and approval.decided_at is not None
    approval.raise_if_rejected()  # approved: no error


async def test_rejection_from_another_process(store: ApprovalStore, db_path: Path) -> None:
    approval_id = await ask(store)
    done = await asyncio.to_thread(decide_elsewhere, db_path, approval_id, False)
    assert done.returncode == 0, done.stderr
    approval = await store.wait(approval_id, poll_s=0.05, timeout_s=5)
    assert approval.status == "rejected"
    with pytest.raises(ApprovalRejected, match="rejected by alice: looks fine"):
        approval.raise_if_rejected()
    assert [a.id for a in store.list("rejected")] == [approval_id]
    assert store.list("pending") == []


async def test_deciding_twice_or_unknown_id_is_an_error(
    store: ApprovalStore, db_path: Path
) -> None:
    approval_id = await ask(store)
    store.decide(approval_id, approve=False, by="bob")
    with pytest.raises(InvalidState, match="already rejected by bob"):
        store.decide(approval_id, approve=True, by="mallory")
    assert store.get(approval_id).status == "rejected"
    with pytest.raises(NotFound):
        store.decide(12345, approve=True, by="bob")
    with pytest.raises(NotFound):
        store.get(12345)
    # the same error from another process: the CLI exits non-zero with the message
    done = await asyncio.to_thread(decide_elsewhere, db_path, approval_id, True)
    assert done.returncode != 0 and "InvalidState" in done.stderr


async def test_wait_times_out(store: ApprovalStore) -> None:
    approval_id = await ask(store)
    with pytest.raises(SyscallTimeout, match="still pending"):
        await store.wait(approval_id, poll_s=0.01, timeout_s=0.05)


def test_list_rejects_unknown_status(store: ApprovalStore) -> None:
    with pytest.raises(InvalidArgument):
        store.list("maybe")  # type: ignore[arg-type]
