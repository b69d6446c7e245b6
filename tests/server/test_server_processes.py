"""Processes over REST: spawn, list, inspect, wait, logs, syscalls, kill, suspend, resume."""

from __future__ import annotations

import time

from server_workload import Served, wait_for


def test_spawn_wait_inspect_logs_and_timeline(served: Served) -> None:
    c = served.client()
    r = c.post("/api/processes", json={"program": "chatty", "args": {"rounds": 2}, "name": "bob"})
    assert r.status_code == 201, r.text
    pid = r.json()["pid"]
    assert r.json()["name"] == "bob"
    done = c.get(f"/api/processes/{pid}/wait", params={"timeout": 10}).json()
    assert done["state"] == "done"
    assert done["result"]["rounds"] == 2
    detail = c.get(f"/api/processes/{pid}").json()
    assert detail["usage"]["llm_calls"] == 2
    assert detail["usage"]["tokens_out"] > 0
    assert detail["args"] == {"rounds": 2}
    # The spawned process is a child of the key's operator process.
    operator = c.get("/api/whoami").json()["operator_pid"]
    assert detail["parent"] == operator
    assert pid in c.get(f"/api/processes/{operator}").json()["children"]
    logs = wait_for(lambda: c.get(f"/api/processes/{pid}/logs").json())
    assert logs[0]["message"].startswith("round 0:")

    def journaled() -> list[dict[str, object]] | None:
        rows: list[dict[str, object]] = c.get(f"/api/processes/{pid}/syscalls").json()
        return rows if len(rows) >= 4 else None

    timeline = wait_for(journaled)
    assert [row["name"] for row in timeline][:2] == ["LLMCall", "Sleep"]
    assert all(row["duration_s"] is not None for row in timeline)
    listed = {p["pid"]: p for p in c.get("/api/processes").json()}
    assert listed[pid]["state"] == "done"
    live = {p["pid"] for p in c.get("/api/processes", params={"all": False}).json()}
    assert pid not in live


def test_failed_process_reports_its_error(served: Served) -> None:
    c = served.client()
    pid = c.post("/api/processes", json={"program": "failing"}).json()["pid"]
    status = c.get(f"/api/processes/{pid}/wait").json()
    assert status["state"] == "failed"
    assert "this agent fails on purpose" in status["error"]


def test_kill_suspend_resume(served: Served) -> None:
    c = served.client()
    pid = c.post("/api/processes", json={"program": "forever", "args": {"delay": 0.01}})
    pid = pid.json()["pid"]
    r = c.post(f"/api/processes/{pid}/suspend")
    assert r.status_code == 200 and r.json()["changed"] is True
    # Held at its next syscall: it makes no more calls while suspended.
    time.sleep(0.1)
    held = c.get(f"/api/processes/{pid}").json()["usage"]["syscalls"]
    time.sleep(0.3)
    assert c.get(f"/api/processes/{pid}").json()["usage"]["syscalls"] == held
    assert c.post(f"/api/processes/{pid}/suspend").status_code == 200  # idempotent
    r = c.post(f"/api/processes/{pid}/resume")
    assert r.status_code == 200 and r.json()["state"] in ("running", "waiting", "ready")
    wait_for(lambda: c.get(f"/api/processes/{pid}").json()["usage"]["syscalls"] > held)
    again = c.post(f"/api/processes/{pid}/resume")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_state"
    r = c.post(f"/api/processes/{pid}/kill")
    assert r.json() == {"pid": pid, "state": "killed", "changed": True}
    assert c.post(f"/api/processes/{pid}/kill").json()["changed"] is False
    assert c.get(f"/api/processes/{pid}").json()["state"] == "killed"
    assert c.post(f"/api/processes/{pid}/suspend").status_code == 409


def test_unknown_process_and_program(served: Served) -> None:
    c = served.client()
    for path in ("/api/processes/999", "/api/processes/999/logs", "/api/processes/999/wait"):
        r = c.get(path)
        assert r.status_code == 404, path
        assert r.json()["error"]["code"] == "unknown_process"
    assert c.post("/api/processes/999/kill").status_code == 404
    r = c.post("/api/processes", json={"program": "no.such.module:main"})
    assert r.status_code == 404
    assert "not found" in r.json()["error"]["message"]


def test_spawned_capabilities_are_narrowed_and_checked(served: Served) -> None:
    c = served.client()
    # two models, so that none is the process's own default: the call goes to the
    # kernel's default model, which the narrowed capabilities leave out
    caps = {"models": ["other", "another"], "spawn": False, "max_tokens": 5}
    r = c.post("/api/processes", json={"program": "chatty", "capabilities": caps})
    pid = r.json()["pid"]
    status = c.get(f"/api/processes/{pid}/wait").json()
    assert status["state"] == "failed"
    assert "PermissionDenied" in status["error"]
    detail = c.get(f"/api/processes/{pid}").json()
    assert detail["capabilities"]["models"] == ["other", "another"]
    assert detail["capabilities"]["spawn"] is False
