"""API keys: scopes, hashing, revocation, per-key capabilities and budgets, CORS."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
from server_workload import Served, served_iter

from llmagentos.kernel.syscalls import Capabilities
from llmagentos.records import replace
from llmagentos.server import ServerConfig

CHAT = {"model": "latency", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


def test_no_key_no_access_except_health(served: Served) -> None:
    anon = served.client("")
    assert anon.get("/health").json()["status"] == "ok"
    for method, path in [
        ("GET", "/api/processes"),
        ("GET", "/api/dashboard"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
        ("GET", "/api/events"),
        ("POST", "/api/keys"),
    ]:
        r = anon.request(method, path)
        assert r.status_code == 401, (method, path)
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["error"]["code"] == "missing_api_key"
    bad = served.client("lak_aaaaaaaaaaaa_" + "x" * 43)
    assert bad.get("/api/processes").json()["error"]["code"] == "invalid_api_key"
    assert served.client("not-a-key").get("/api/processes").status_code == 401


def test_scopes_nest(served: Served) -> None:
    reader = served.client(served.key("r", ["read"]))
    operator = served.client(served.key("o", ["operate"]))
    assert reader.get("/api/processes").status_code == 200
    r = reader.post("/api/processes", json={"program": "chatty"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope"
    assert reader.post("/v1/chat/completions", json=CHAT).status_code == 403
    assert operator.post("/api/processes", json={"program": "chatty"}).status_code == 201
    assert operator.post("/v1/chat/completions", json=CHAT).status_code == 200
    assert operator.get("/api/keys").status_code == 403
    assert operator.post("/api/approvals/1/approve").status_code == 403
    assert served.client().get("/api/keys").status_code == 200


def test_keys_are_stored_hashed_and_can_be_revoked(served: Served) -> None:
    admin = served.client()
    r = admin.post("/api/keys", json={"name": "ci", "scopes": ["read"]})
    assert r.status_code == 201
    token = r.json()["token"]
    assert token.startswith("lak_")
    assert admin.post("/api/keys", json={"name": "ci", "scopes": ["read"]}).status_code == 409
    listed = {k["name"]: k for k in admin.get("/api/keys").json()}
    assert "token" not in listed["ci"]
    db = Path(served.kernel.config.db_path)
    with sqlite3.connect(db) as conn:
        dump = "\n".join(conn.iterdump())
    assert token not in dump and token.split("_", 2)[2] not in dump
    ci = served.client(token)
    assert ci.get("/api/processes").status_code == 200
    assert admin.post("/api/keys/ci/revoke").json()["revoked"] is True
    assert ci.get("/api/processes").status_code == 401
    assert admin.post("/api/keys/nobody/revoke").status_code == 404


def test_operate_keys_control_only_their_own_processes(served: Served) -> None:
    alice = served.client(served.key("alice", ["operate"]))
    bob = served.client(served.key("bob", ["operate"]))
    pid = alice.post("/api/processes", json={"program": "forever"}).json()["pid"]
    r = bob.post(f"/api/processes/{pid}/kill")
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_owner"
    assert bob.post(f"/api/processes/{pid}/suspend").status_code == 403
    assert alice.post(f"/api/processes/{pid}/suspend").status_code == 200
    assert served.client().post(f"/api/processes/{pid}/kill").json()["changed"] is True


def test_program_allow_list(served: Served) -> None:
    c = served.client(served.key("apps", ["operate"], programs=("chat*",)))
    assert c.post("/api/processes", json={"program": "chatty"}).status_code == 201
    r = c.post("/api/processes", json={"program": "forever"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "program_not_allowed"


def test_key_capabilities_bound_models_and_tokens(served: Served) -> None:
    caps = replace(Capabilities(), models=("nothing-here",), max_tokens=10**6)
    narrow = served.client(served.key("narrow", ["operate"], caps=caps))
    assert narrow.get("/v1/models").json()["data"] == []
    r = narrow.post("/v1/chat/completions", json=CHAT)
    assert r.status_code == 403 and r.json()["error"]["type"] == "permission_error"
    budget = replace(Capabilities(), max_tokens=12)
    small = served.client(served.key("small", ["operate"], caps=budget))
    statuses = [small.post("/v1/chat/completions", json=CHAT).status_code for _ in range(4)]
    assert statuses[0] == 200 and statuses[-1] == 429
    # Children spend from the key's budget too.
    pid = small.post("/api/processes", json={"program": "chatty"}).json()["pid"]
    status = small.get(f"/api/processes/{pid}/wait").json()
    assert status["state"] == "failed" and "QuotaExceeded" in status["error"]


def test_budget_survives_a_restart(tmp_path: Path) -> None:
    budget = replace(Capabilities(), max_tokens=20)
    gen = served_iter(tmp_path / "s")
    served = next(gen)
    token = served.key("metered", ["operate"], caps=budget)
    c = served.client(token)
    used = 0
    while c.post("/v1/chat/completions", json=CHAT).status_code == 200:
        used += 1
    assert used >= 1
    gen.close()  # stops the server: the key's usage is written back
    again = served_iter(tmp_path / "s")
    second = next(again)
    try:
        keys = {k.name: k for k in second.state.keys.list()}
        assert keys["metered"].used_tokens >= 12
        r = second.client(token).post("/v1/chat/completions", json=CHAT)
        assert r.status_code == 429
    finally:
        again.close()


@pytest.mark.parametrize("origins", [(), ("http://dash.example",)])
def test_cors_is_off_unless_configured(tmp_path: Path, origins: tuple[str, ...]) -> None:
    config = ServerConfig(access_log=False, cors_origins=origins)
    gen = served_iter(tmp_path / "s", config=config)
    served = next(gen)
    try:
        headers = {"Origin": "http://dash.example", "Access-Control-Request-Method": "GET"}
        r = httpx.options(served.url + "/api/processes", headers=headers)
        allowed = r.headers.get("access-control-allow-origin")
        assert allowed == (origins[0] if origins else None)
        evil = httpx.options(
            served.url + "/api/processes",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert "access-control-allow-origin" not in evil.headers
    finally:
        gen.close()


def test_the_spec_needs_a_key_unless_docs_are_public(served: Served, tmp_path: Path) -> None:
    spec = served.client().get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["APIKey"]["scheme"] == "bearer"
    assert "/v1/chat/completions" in spec["paths"] and "/api/processes" in spec["paths"]
    assert httpx.get(served.url + "/docs").status_code == 404
    gen = served_iter(tmp_path / "s", config=ServerConfig(access_log=False, public_docs=True))
    public = next(gen)
    try:
        assert httpx.get(public.url + "/openapi.json").status_code == 200
        assert "swagger" in httpx.get(public.url + "/docs").text.lower()
        assert httpx.get(public.url + "/api/processes").status_code == 401
    finally:
        gen.close()
