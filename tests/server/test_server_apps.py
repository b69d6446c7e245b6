"""Apps through the server: list them, run one by name within the key's capabilities."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_workload import Served, served_iter

from llmagentos import Capabilities
from llmagentos.apps import AppStore
from llmagentos.apps.runner import offline_model

TEXT = (
    "The library opens a new reading room in June. The room seats forty people."
    " Members can book it online."
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    # The summarizer's offline double is the kernel's default model, the one apps call.
    manifest = AppStore(tmp_path).get("summarizer").manifest
    yield from served_iter(tmp_path / "state", models={"offline": offline_model(manifest)})


def _processes(served: Served) -> list[dict[str, Any]]:
    return list(served.client().get("/api/processes").json())


def test_list_apps(served: Served) -> None:
    apps = {a["name"]: a for a in served.client().get("/api/apps").json()}
    assert {"summarizer", "customer_service", "maze_solver"} <= set(apps)
    summarizer = apps["summarizer"]
    assert summarizer["bundled"] is True and summarizer["version"] == "0.1.0"
    assert summarizer["capabilities"]["max_tokens"] == 200000
    assert summarizer["capabilities"]["tools"] == []
    assert summarizer["args"] == {"max_length": 100}
    reader = served.key("reader", ["read"])
    assert served.client(reader).get("/api/apps").status_code == 200
    assert served.client("").get("/api/apps").status_code == 401


def test_run_a_bundled_app_on_an_offline_double(served: Served) -> None:
    c = served.client()
    r = c.post("/api/apps/summarizer/run", json={"args": {"text": TEXT}})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["app"] == "summarizer" and out["name"] == "summarizer"
    assert out["program"] == "llmagentos.apps.summarizer.app:main"
    caps = out["capabilities"]
    assert caps["max_tokens"] == 200000 and caps["tools"] == [] and caps["spawn"] is False
    assert caps["namespaces"] == ["app/summarizer", "app/summarizer/*"]
    done = c.get(f"/api/processes/{out['pid']}/wait").json()
    assert done["state"] == "done", done
    assert done["result"]["summaries"] == ["The library opens a new reading room in June."]
    # The app is the operator's child and spends from the key's budget.
    detail = c.get(f"/api/processes/{out['pid']}").json()
    assert detail["parent"] == c.get("/api/whoami").json()["operator_pid"]
    assert detail["args"] == {"max_length": 100, "text": TEXT}
    served.call(served.state.operators.flush_usage())
    assert served.state.keys.get("admin").used_tokens >= detail["usage"]["tokens_in"] > 0
    # A second run reuses what the first loaded.
    again = c.post("/api/apps/summarizer/run", json={"name": "second", "priority": 3})
    assert again.status_code == 201 and again.json()["name"] == "second"
    assert c.get(f"/api/processes/{again.json()['pid']}/wait").json()["state"] == "done"


def test_a_field_the_app_leaves_open_is_the_keys(served: Served) -> None:
    token = served.key("narrow", ["operate"], caps=Capabilities(models=("offline",)))
    r = served.client(token).post("/api/apps/summarizer/run", json={"args": {"text": TEXT}})
    assert r.status_code == 201, r.text
    assert r.json()["capabilities"]["models"] == ["offline"]


def test_unknown_app_is_404(served: Served) -> None:
    r = served.client().post("/api/apps/summariser/run", json={})
    assert r.status_code == 404
    error = r.json()["error"]
    assert (error["type"], error["code"]) == ("UnknownApp", "unknown_app")
    assert "summarizer" in error["message"]  # a suggestion
    bad = served.client().post("/api/apps/Not%20An%20App/run", json={})
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("app", "caps", "field"),
    [
        ("summarizer", Capabilities(max_tokens=1000), "max_tokens"),
        ("customer_service", Capabilities(tools=("calculator",)), "tools"),
        ("customer_service", Capabilities(spawn=False), "spawn"),
        ("summarizer", Capabilities(namespaces=("mine/*",)), "namespaces"),
    ],
)
def test_an_app_asking_more_than_the_key_allows_is_403(
    served: Served, app: str, caps: Capabilities, field: str
) -> None:
    token = served.key("small", ["operate"], caps=caps)
    before = len(_processes(served))
    r = served.client(token).post(f"/api/apps/{app}/run", json={})
    assert r.status_code == 403, r.text
    error = r.json()["error"]
    assert error["code"] == "capability_not_granted"
    assert "small" in error["message"] and error["details"]["field"] == field
    started = [p for p in _processes(served)[before:] if p["program"] != "api:small"]
    assert started == []


def test_scope_and_program_patterns_apply(served: Served) -> None:
    reader = served.key("reader", ["read"])
    r = served.client(reader).post("/api/apps/summarizer/run", json={})
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope"
    only_chatty = served.key("chatty-only", ["operate"], programs=("chatty",))
    r = served.client(only_chatty).post("/api/apps/summarizer/run", json={})
    assert r.status_code == 403 and r.json()["error"]["code"] == "program_not_allowed"
    apps_ok = served.key("apps-ok", ["operate"], programs=("app:summarizer",))
    assert served.client(apps_ok).post("/api/apps/summarizer/run", json={}).status_code == 201


def test_bad_bodies_are_4xx(served: Served) -> None:
    c = served.client()
    assert c.post("/api/apps/summarizer/run", json={"args": []}).status_code == 422
    assert c.post("/api/apps/summarizer/run", json={"priority": 1000}).status_code == 422
    assert c.post("/api/apps/summarizer/run", json={"extra": 1}).status_code == 422
    assert c.get("/api/apps/summarizer/run").status_code == 405
