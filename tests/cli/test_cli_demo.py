"""`llmagentos demo`: the main job runs every bundled app on one kernel, offline."""

from __future__ import annotations

import json
from pathlib import Path

from cli_workspace import Workspace
from click.testing import CliRunner

from llmagentos.apps.demo import APPS
from llmagentos.cli.main import main


def test_demo_runs_every_app_and_writes_a_report(ws: Workspace) -> None:
    out = ws.cli(
        "demo", "--model", "offline", "--embedder", "hash", "--state-dir", "demo", timeout=300
    )
    assert out.returncode == 0, out.stdout + out.stderr
    for app in APPS:
        assert f"✓ {app}" in out.stdout
    assert "1 operator approvals" in out.stdout or "2 operator approvals" in out.stdout
    summary = json.loads((ws.root / "demo" / "summary.json").read_text())
    assert summary["ok"] and set(summary["apps"]) == set(APPS)
    assert summary["apps"]["maze_solver"]["result"]["success"] is True
    report = (ws.root / "demo" / "report.html").read_text()
    assert "<svg" in report and "Tokens per agent" in report and "customer_service" in report
    # What it leaves behind is an ordinary state directory the other commands read.
    ws.state = "demo"
    rows = ws.ps("-a")
    names = {r["name"] for r in rows.values()}
    assert {"demo", "reporter", *APPS, "desk", "translator", "classifier"} <= names
    assert all(r["state"] == "done" for r in rows.values())


def test_demo_refuses_a_directory_that_is_not_llmagentos_state(tmp_path: Path) -> None:
    # The demo wipes its state directory first: it must not wipe someone's files.
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    result = CliRunner().invoke(main, ["demo", "--state-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "holds no llmagentos state" in result.output
    assert precious.read_text() == "keep me"


def test_demo_rejects_unknown_apps(tmp_path: Path) -> None:
    state = str(tmp_path / "s")
    result = CliRunner().invoke(main, ["demo", "--apps", "summarizer,nope", "--state-dir", state])
    assert result.exit_code == 1
    assert "unknown demo apps ['nope']" in result.output


def test_demo_refuses_a_state_directory_a_kernel_is_using(tmp_path: Path) -> None:
    from llmagentos.storage.lock import StateLock

    state = tmp_path / "busy"
    state.mkdir()
    (state / "os.db").write_bytes(b"")
    lock = StateLock(state)
    lock.acquire()
    try:
        result = CliRunner().invoke(main, ["demo", "--state-dir", str(state)])
    finally:
        lock.release()
    assert result.exit_code == 1
    assert "a kernel is running on" in result.output
    assert (state / "os.db").exists()
