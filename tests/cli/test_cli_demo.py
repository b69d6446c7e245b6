"""`llmagentos demo`: the main job runs offline and checks its own answers."""

from __future__ import annotations

from pathlib import Path

from cli_workspace import Workspace
from click.testing import CliRunner

from llmagentos.cli.main import main


def test_demo_with_three_agents(ws: Workspace) -> None:
    out = ws.cli("demo", "--agents", "3", "--state-dir", "demo")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3/3 worker answers correct" in out.stdout
    assert "operator approvals: 1" in out.stdout
    # What it leaves behind is an ordinary state directory the other commands read.
    ws.state = "demo"
    rows = ws.ps("-a")
    names = {r["name"] for r in rows.values()}
    assert {"monitor", "desk", "coordinator", "worker-0", "worker-2"} <= names
    assert all(r["state"] == "done" for r in rows.values())


def test_demo_refuses_a_directory_that_is_not_llmagentos_state(tmp_path: Path) -> None:
    # The demo wipes its state directory first: it must not wipe someone's files.
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    result = CliRunner().invoke(main, ["demo", "--state-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "holds no llmagentos state" in result.output
    assert precious.read_text() == "keep me"


def test_demo_rejects_zero_agents(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--agents", "0", "--state-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "--agents" in result.output


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
