"""Steering processes from another terminal: kill, suspend / resume, stop and recovery.

Each test starts `llmagentos run` in a background OS process and drives it with the CLI
from the test, as a person in a second terminal would; the database is read directly only
to wait for the moment to act.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time

from cli_workspace import Workspace, finish, wait_for


def start_loop(ws: Workspace, steps: int, delay: float = 0.05) -> subprocess.Popen[str]:
    proc = ws.start(
        "run", "progs.py:loop", "--arg", f"steps={steps}", "--arg", f"delay={delay}",
        "--state-dir", ws.state, "--quiet",
    )  # fmt: skip
    # Running, and past its first few calls (so the journal is being written).
    wait_for(
        lambda: ws.state_of(1) in ("running", "waiting") and ws.journal_len(1) >= 3,
        what="pid 1 to run",
    )
    return proc


def test_kill_from_another_terminal_ends_the_process_and_the_run(ws: Workspace) -> None:
    run = start_loop(ws, steps=400)
    follow = ws.start("logs", "1", "-f", "--state-dir", ws.state)

    listing = ws.cli("ps", "--state-dir", ws.state)
    assert "kernel running" in listing.stdout and "loop" in listing.stdout
    # One kernel per state directory.
    second = ws.cli("run", "progs.py:markup", "--state-dir", ws.state, "--quiet")
    assert second.returncode == 1 and "another kernel is running" in second.stderr

    killed = ws.cli("kill", "1", "--state-dir", ws.state)
    assert killed.returncode == 0, killed.stderr
    assert killed.stdout.strip() == "killed"

    code, out, _ = finish(run)
    assert code == 1
    assert "pid 1 ended killed" in out and "killed by operator" in out
    row = ws.ps("-a")[1]
    assert row["state"] == "killed" and row["error"] == "killed by operator"
    assert row["usage"]["syscalls"] >= 3
    # `logs -f` stops following once the process has ended.
    code, out, _ = finish(follow)
    assert code == 0 and "tick 0" in out


def test_suspend_holds_the_process_and_resume_lets_it_finish(ws: Workspace) -> None:
    run = start_loop(ws, steps=60, delay=0.03)

    out = ws.cli("suspend", "1", "--state-dir", ws.state)
    assert out.stdout.strip() == "suspended", out.stderr
    assert ws.ps()[1]["state"] == "suspended"
    # At most the call in flight completes; after that the journal stands still.
    time.sleep(0.2)
    held_at = ws.journal_len(1)
    time.sleep(0.6)
    assert ws.journal_len(1) == held_at
    assert held_at < 60
    journal = ws.cli("logs", "1", "--journal", "--state-dir", ws.state)
    assert journal.stdout.count('"$t":"Sleep"') == held_at
    assert run.poll() is None

    # Resuming twice: the second is refused by the kernel, not a crash.
    assert ws.cli("resume", "1", "--state-dir", ws.state).stdout.strip() == "resumed"
    again = ws.cli("resume", "1", "--state-dir", ws.state)
    if "already ended" not in again.stdout:  # (on a slow machine the loop may be done)
        said = f"rc={again.returncode} out={again.stdout!r} err={again.stderr!r}"
        assert again.returncode == 1, said
        assert "not suspended" in again.stderr and "process 1 is " in again.stderr, said

    code, out, _ = finish(run)
    assert code == 0, out
    assert "pid 1 ended done" in out
    assert ws.journal_len(1) == 60


def test_sigterm_stops_the_kernel_and_the_next_run_resumes_the_process(ws: Workspace) -> None:
    run = start_loop(ws, steps=12, delay=0.05)
    run.send_signal(signal.SIGTERM)
    code, _, err = finish(run)
    assert code == 143  # 128 + SIGTERM
    assert "unfinished processes resume at the next `llmagentos run" in err
    before = ws.journal_len(1)
    assert ws.state_of(1) in ("running", "waiting", "ready")
    assert "kernel not running" in ws.cli("ps", "--state-dir", ws.state).stdout

    # The next run resumes pid 1 from its journal and waits for it as well.
    out = ws.cli(
        "run", "progs.py:main", "--arg", "n=1", "--model", "m=test:null",
        "--state-dir", ws.state,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "resumed unfinished processes [1]" in out.stdout
    rows = ws.ps("-a")
    assert rows[1]["state"] == "done" and rows[1]["result"] == 12
    assert rows[1]["restarts"] == 1
    assert rows[2]["state"] == "done"
    # Replay answered the earlier calls from the journal: each call is journaled once.
    assert ws.journal_len(1) == 12 >= before
    log = ws.cli("logs", "1", "--state-dir", ws.state).stdout
    assert "recovered after restart #1" in log


def test_ctrl_c_stops_the_kernel_cleanly(ws: Workspace) -> None:
    run = start_loop(ws, steps=400)
    run.send_signal(signal.SIGINT)
    code, _, err = finish(run)
    assert code == 130
    assert "stopped; unfinished processes resume" in err and "Traceback" not in err
    assert ws.state_of(1) in ("running", "waiting", "ready")
    assert "kernel not running" in ws.cli("ps", "--state-dir", ws.state).stdout


def test_a_kernel_that_does_not_answer_in_time_is_an_error_and_the_command_stays_queued(
    ws: Workspace,
) -> None:
    from llmagentos.storage.lock import StateLock

    run = start_loop(ws, steps=400)
    run.send_signal(signal.SIGTERM)
    assert finish(run)[0] == 143
    # Something holds the state directory's lock (as a kernel would) and never answers.
    lock = StateLock(ws.root / ws.state)
    lock.acquire()
    try:
        out = ws.cli("kill", "1", "--wait", "0.3", "--state-dir", ws.state)
    finally:
        lock.release()
    assert out.returncode == 1, out.stdout
    assert "has not answered in 0.3s" in out.stderr and "stays queued" in out.stderr
    assert ws.state_of(1) in ("running", "waiting", "ready")
    bad = ws.cli("kill", "1", "--wait", "-1", "--state-dir", ws.state)
    assert bad.returncode == 2 and "--wait" in bad.stderr

    # The next kernel applies the queued kill.
    out = ws.cli("run", "progs.py:markup", "--state-dir", ws.state, "--quiet")
    assert out.returncode in (0, 1), out.stdout + out.stderr
    row = ws.ps("-a")[1]
    assert row["state"] == "killed" and row["error"] == "killed by operator"


def test_control_without_a_kernel_edits_the_table_and_says_so(ws: Workspace) -> None:
    # A crash (SIGKILL) leaves pid 1 unfinished with no kernel running.
    run = start_loop(ws, steps=10, delay=0.05)
    run.kill()
    finish(run)
    assert ws.state_of(1) in ("running", "waiting")

    out = ws.cli("suspend", "1", "--state-dir", ws.state)
    assert out.returncode == 0
    assert out.stdout.strip() == "suspended (no kernel running; takes effect at the next boot)"
    assert ws.ps()[1]["state"] == "suspended"

    # A run does not wait on a process an operator holds suspended, and says it is held.
    out = ws.cli(
        "run", "progs.py:main", "--arg", "n=2", "--model", "m=test:null",
        "--state-dir", ws.state,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "left suspended: [1]" in out.stdout
    assert ws.state_of(1) == "suspended" and ws.state_of(2) == "done"

    out = ws.cli("resume", "1", "--state-dir", ws.state)
    assert out.stdout.strip() == "ready (no kernel running; takes effect at the next boot)"
    out = ws.cli("run", "progs.py:markup", "--state-dir", ws.state, "--quiet")
    assert out.returncode == 0
    assert ws.ps("-a")[1]["result"] == 10


def test_kill_without_a_kernel_is_final(ws: Workspace) -> None:
    run = start_loop(ws, steps=400)
    run.kill()
    finish(run)

    out = ws.cli("kill", "1", "--state-dir", ws.state)
    assert out.stdout.strip() == "killed (no kernel running; takes effect at the next boot)"
    row = ws.ps("-a")[1]
    assert row["state"] == "killed" and row["error"] == "killed by operator"
    assert row["ended_at"] is not None

    out = ws.cli("run", "progs.py:markup", "--state-dir", ws.state, "--quiet")
    assert out.returncode == 0
    assert "resumed" not in out.stdout
    assert ws.state_of(1) == "killed"
    assert json.loads(ws.cli("ps", "--json", "--state-dir", ws.state).stdout) == []
