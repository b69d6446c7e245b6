"""`llmagentos serve` as a real OS process, and `llmagentos keys`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner
from server_workload import free_port

from llmagentos.cli.serve import keys
from llmagentos.storage.lock import StateLock

SERVE = [sys.executable, "-c", "from llmagentos.cli.serve import serve; serve()"]


def _wait_healthy(url: str, proc: subprocess.Popen[str], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise AssertionError("the server did not come up")


def _serve(state: Path, port: int) -> subprocess.Popen[str]:
    args = ["--port", str(port), "--state-dir", str(state), "--model", "m=test:latency"]
    return subprocess.Popen(
        [*SERVE, *args, "--create-admin-key", "--json-logs"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serve_prints_an_admin_key_once_and_stops_cleanly(tmp_path: Path) -> None:
    state, port = tmp_path / "state", free_port()
    proc = _serve(state, port)
    try:
        assert proc.stdout is not None
        token = proc.stdout.readline().strip()
        assert token.startswith("lak_")
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, proc)
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(url + "/api/whoami", headers=headers).json()["name"] == "admin"
        models = httpx.get(url + "/v1/models", headers=headers).json()["data"]
        assert [m["id"] for m in models] == ["m"]
        chat = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}
        r = httpx.post(url + "/v1/chat/completions", json=chat, headers=headers, timeout=10)
        assert r.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert "dashboard with this key" in err
    assert not StateLock(state).held_elsewhere()  # the kernel shut down and let go
    # After a restart the key is not printed again, and the first one still works.
    port = free_port()
    again = _serve(state, port)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", again)
        r = httpx.get(f"http://127.0.0.1:{port}/api/whoami", headers=headers)
        assert r.status_code == 200
    finally:
        again.send_signal(signal.SIGTERM)
        out, err = again.communicate(timeout=30)
    assert "lak_" not in out
    assert "exists already" in err


def test_keys_commands(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    runner = CliRunner()
    made = runner.invoke(
        keys, ["create", "ci", "--scope", "operate", "--models", "m*", "--state-dir", state]
    )
    assert made.exit_code == 0, made.output
    assert made.output.strip().startswith("lak_")
    dup = runner.invoke(keys, ["create", "ci", "--state-dir", state])
    assert dup.exit_code != 0 and "already exists" in dup.output
    listed = json.loads(runner.invoke(keys, ["list", "--json", "--state-dir", state]).output)
    assert listed[0]["name"] == "ci" and listed[0]["scopes"] == ["operate"]
    assert runner.invoke(keys, ["revoke", "ci", "--state-dir", state]).exit_code == 0
    listed = json.loads(runner.invoke(keys, ["list", "--json", "--state-dir", state]).output)
    assert listed[0]["revoked"] is True
    assert runner.invoke(keys, ["revoke", "nobody", "--state-dir", state]).exit_code != 0
    table = runner.invoke(keys, ["list", "--state-dir", state], env={"COLUMNS": "150"})
    assert "ci" in table.output and "operate" in table.output
