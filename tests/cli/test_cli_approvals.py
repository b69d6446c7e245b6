"""Approvals end to end: a policy marks a tool "ask", a person decides from the CLI."""

from __future__ import annotations

import json
import subprocess

from cli_workspace import Workspace, finish, wait_for


def start_publisher(ws: Workspace, text: str) -> subprocess.Popen[str]:
    return ws.start(
        "run", "progs.py:publisher", "--arg", f"text={text}", "--tool", "progs.py:publish",
        "--policy", "ask.toml", "--state-dir", ws.state, "--quiet",
    )  # fmt: skip


def pending(ws: Workspace) -> list[int]:
    return [r["id"] for r in ws.query("SELECT id FROM approvals WHERE status = 'pending'")]


def test_approve_lets_the_call_run_and_reject_reaches_the_program(ws: Workspace) -> None:
    run = start_publisher(ws, "hello")
    [first] = wait_for(lambda: pending(ws), what="an approval request")
    wait_for(lambda: ws.state_of(1) == "waiting", what="pid 1 to wait for the person")

    listing = ws.cli("approvals", "list", "--state-dir", ws.state)
    assert listing.returncode == 0
    line = next(x for x in listing.stdout.splitlines() if x.startswith(f"#{first}"))
    assert "pid 1 (progs.py:publisher) tool 'publish'" in line
    assert "publishing needs a person" in line and "[pending]" in line
    [row] = json.loads(ws.cli("approvals", "list", "--json", "--state-dir", ws.state).stdout)
    assert row["id"] == first and row["target"] == "publish" and row["status"] == "pending"
    assert row["process_state"] == "waiting"
    assert run.poll() is None  # still waiting for the person

    out = ws.cli("approvals", "approve", str(first), "--note", "fine", "--state-dir", ws.state)
    assert out.returncode == 0 and out.stdout.strip() == f"approval #{first}: approved"
    code, stdout, _ = finish(run)
    assert code == 0, stdout
    assert json.loads(stdout.split("ended done", 1)[1]) == {"output": "published hello"}
    assert ws.ps("-a")[1]["usage"]["tool_calls"] == 1

    # The reject path: the program sees ApprovalRejected, with the person's note.
    run = start_publisher(ws, "secret")
    [second] = wait_for(lambda: pending(ws), what="a second approval request")
    out = ws.cli("approvals", "reject", str(second), "--note", "not today", "--state-dir", ws.state)
    assert out.stdout.strip() == f"approval #{second}: rejected"
    code, stdout, _ = finish(run)
    assert code == 0, stdout
    result = json.loads(stdout.split("ended done", 1)[1])
    assert "rejected" in result and "not today" in result["rejected"]
    assert ws.ps("-a")[2]["usage"].get("tool_calls", 0) == 0  # the tool never ran

    # Decided requests: not pending any more, listed with --all, not decidable twice.
    assert ws.cli("approvals", "list", "--state-dir", ws.state).stdout.strip() == (
        "no pending approvals"
    )
    everything = ws.cli("approvals", "list", "-a", "--state-dir", ws.state).stdout
    assert "[approved]" in everything and "[rejected]" in everything
    again = ws.cli("approvals", "approve", str(second), "--state-dir", ws.state)
    assert again.returncode == 1
    assert f"approval request {second} was already rejected by cli" in again.stderr


def test_a_request_whose_process_was_killed_is_marked(ws: Workspace) -> None:
    run = start_publisher(ws, "never")
    [request] = wait_for(lambda: pending(ws), what="an approval request")
    assert ws.cli("kill", "1", "--state-dir", ws.state).stdout.strip() == "killed"
    assert finish(run)[0] == 1
    listing = ws.cli("approvals", "list", "--state-dir", ws.state).stdout
    assert f"#{request} pid 1" in listing
    assert "[pending; process 1 is killed, a decision has no effect]" in listing


def test_deciding_an_unknown_approval_is_a_clean_error(ws: Workspace) -> None:
    out = ws.cli("run", "progs.py:markup", "--state-dir", ws.state, "--quiet")
    assert out.returncode == 0
    for verb in ("approve", "reject"):
        out = ws.cli("approvals", verb, "42", "--state-dir", ws.state)
        assert out.returncode == 1
        assert "no approval request 42" in out.stderr
        assert "Traceback" not in out.stderr
    out = ws.cli("approvals", "approve", "notanumber", "--state-dir", ws.state)
    assert out.returncode == 2 and "is not a valid integer" in out.stderr
