"""SIGKILL the kernel in the middle of a multi-agent run, restart it, and check that every
side effect happened exactly once and every message was delivered exactly once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent
PRODUCERS, COUNT = 4, 12


def _start(state: Path, ledger: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen(
        [
            sys.executable,
            str(HERE / "crash_workload.py"),
            str(state),
            str(ledger),
            str(PRODUCERS),
            str(COUNT),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _journal_rows(state: Path) -> int:
    db = state / "os.db"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM journal").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.slow
@pytest.mark.parametrize("kill_after_rows", [40, 150, 260])
def test_sigkill_midrun_then_recover_exactly_once(tmp_path: Path, kill_after_rows: int) -> None:
    state, ledger = tmp_path / "state", tmp_path / "ledger.db"
    first = _start(state, ledger)
    deadline = time.monotonic() + 60
    while _journal_rows(state) < kill_after_rows:
        assert first.poll() is None, f"finished before the kill: {first.communicate()}"
        assert time.monotonic() < deadline, "workload made no progress"
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert first.returncode == -signal.SIGKILL

    second = _start(state, ledger)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err[-3000:]
    assert "ALL DONE" in out

    expected = {f"p{i}-{j}" for i in range(PRODUCERS) for j in range(COUNT)}
    with sqlite3.connect(state / "os.db") as conn:
        root = conn.execute("SELECT state, result, restarts FROM processes WHERE name='root'")
        r_state, r_result, restarts = root.fetchone()
        assert r_state == "done"
        assert restarts == 1, "the root process should have been recovered once"
        received = json.loads(r_result)["received"]
        # exactly-once delivery: every item arrived, none twice
        assert sorted(received) == sorted(expected)
        # exactly one message per item was ever put in a mailbox (no resend on replay)
        sent = conn.execute("SELECT count(*) FROM mailbox").fetchone()[0]
        assert sent == len(expected)
        counters = dict(conn.execute("SELECT key, value FROM kv").fetchall())
        assert counters == {f"sent/{i}": str(COUNT) for i in range(PRODUCERS)}
        states = {s for (s,) in conn.execute("SELECT state FROM processes")}
        assert states == {"done"}
    with sqlite3.connect(ledger) as conn:
        effects = [row[0] for row in conn.execute("SELECT item FROM effects")]
        invocations = conn.execute("SELECT count(*) FROM invocations").fetchone()[0]
    # exactly-once side effects: each item's effect applied once
    assert sorted(effects) == sorted(expected)
    # a tool re-runs only if it was in flight at the kill: at most one per producer
    assert len(expected) <= invocations <= len(expected) + PRODUCERS
