"""Messages, topics, approvals, memory and storage over REST, and the SSE event stream."""

from __future__ import annotations

import base64
import json
import threading

import httpx
from server_workload import Served, wait_for


def test_send_and_receive_through_the_mailbox(served: Served) -> None:
    c = served.client()
    pid = c.post("/api/processes", json={"program": "echo", "name": "echoer"}).json()["pid"]
    mid = c.post("/api/messages", json={"to": "echoer", "payload": {"n": 1}}).json()["id"]
    got = c.get("/api/mailbox", params={"timeout": 10}).json()["message"]
    assert got["payload"] == {"echo": {"n": 1}}
    assert got["sender"] == pid and got["correlation"] == mid
    also = c.get("/api/mailbox", params={"timeout": 10, "sender": pid}).json()["message"]
    assert also["payload"] == {"also": {"n": 1}}
    assert c.get("/api/mailbox").json() == {"message": None}
    c.post("/api/messages", json={"to": pid, "payload": "stop"})
    assert c.get(f"/api/processes/{pid}/wait").json()["result"] == 1
    r = c.post("/api/messages", json={"to": "nobody-by-that-name", "payload": 1})
    assert r.status_code == 404


def test_publish_and_subscribe(served: Served) -> None:
    c = served.client()
    pid = c.post("/api/processes", json={"program": "listener", "args": {"topic": "news"}})
    pid = pid.json()["pid"]
    wait_for(
        lambda: c.post("/api/topics/news/publish", json={"payload": "hello"}).json()["delivered"]
    )
    assert c.get(f"/api/processes/{pid}/wait").json()["result"] == "hello"
    assert c.post("/api/topics/alerts/subscribe").status_code == 204
    other = served.client(served.key("other", ["operate"]))
    assert other.post("/api/topics/alerts/publish", json={"payload": 7}).json()["delivered"] == 1
    msg = c.get("/api/mailbox", params={"topic": "alerts"}).json()["message"]
    assert msg["payload"] == 7 and msg["topic"] == "alerts"
    assert c.post("/api/topics/alerts/unsubscribe").status_code == 204


def test_approvals_inbox_approve_and_reject(served: Served) -> None:
    c = served.client()
    first = c.post("/api/processes", json={"program": "reporter", "args": {"title": "a"}})
    second = c.post("/api/processes", json={"program": "reporter", "args": {"title": "b"}})
    pending = wait_for(lambda: len(c.get("/api/approvals").json()) == 2 and c.get("/api/approvals"))
    by_pid = {a["pid"]: a for a in pending.json()}
    a1, a2 = by_pid[first.json()["pid"]], by_pid[second.json()["pid"]]
    assert a1["target"] == "publish_report" and a1["status"] == "pending"
    assert c.get(f"/api/processes/{a1['pid']}").json()["state"] == "waiting"
    r = c.post(f"/api/approvals/{a1['id']}/approve", json={"note": "fine"})
    assert r.json()["status"] == "approved" and r.json()["decided_by"] == "api:admin"
    assert c.post(f"/api/approvals/{a2['id']}/reject").json()["status"] == "rejected"
    assert c.post(f"/api/approvals/{a2['id']}/approve").status_code == 409
    assert c.post("/api/approvals/9999/approve").status_code == 404
    ok = c.get(f"/api/processes/{a1['pid']}/wait").json()
    assert ok["result"] == {"ok": True, "output": "published a", "error": None}
    refused = c.get(f"/api/processes/{a2['pid']}/wait").json()
    assert refused["state"] == "failed" and "ApprovalRejected" in refused["error"]
    assert c.get("/api/approvals").json() == []
    assert len(c.get("/api/approvals", params={"status": "approved"}).json()) == 1


def test_memory_kv_and_files_in_the_keys_namespace(served: Served) -> None:
    c = served.client()
    assert c.put("/api/kv/conf/a", json={"value": {"x": [1, 2]}}).status_code == 200
    assert c.get("/api/kv/conf/a").json() == {
        "key": "conf/a",
        "value": {"x": [1, 2]},
        "found": True,
    }
    assert c.get("/api/kv", params={"prefix": "conf/"}).json() == {"keys": ["conf/a"]}
    assert c.get("/api/kv/missing").status_code == 404
    assert c.delete("/api/kv/conf/a").json() == {"deleted": True}
    mid = c.post("/api/memory", json={"text": "the launch is on friday", "metadata": {"t": 1}})
    found = c.get("/api/memory", params={"query": "when is the launch"}).json()
    assert found[0]["id"] == mid.json()["id"] and found[0]["metadata"] == {"t": 1}
    assert c.delete(f"/api/memory/{found[0]['id']}").json() == {"deleted": True}
    assert c.put("/api/files/notes/a.txt", json={"content": "hi"}).json()["bytes"] == 2
    raw = base64.b64encode(b"\x00\xff").decode()
    assert c.put("/api/files/bin/x", json={"base64": raw}).json()["bytes"] == 2
    assert c.get("/api/files/bin/x").json() == {
        "path": "bin/x",
        "content": raw,
        "encoding": "base64",
    }
    assert c.get("/api/files").json() == {"paths": ["bin/x", "notes/a.txt"]}
    assert c.get("/api/files/notes/a.txt").json()["content"] == "hi"
    assert c.get("/api/files/nope").status_code == 404
    assert c.put("/api/files/x", json={"base64": "%%"}).status_code == 422
    assert c.put("/api/files/x", json={"content": "a", "base64": "AA=="}).status_code == 422
    assert c.get("/api/files/../../etc/passwd").status_code in (400, 404)
    # Everything above lives in the key's own namespace; another key sees none of it.
    other = served.client(served.key("reader", ["read"]))
    assert other.get("/api/files").json() == {"paths": []}


def test_namespaces_follow_the_keys_capabilities(served: Served) -> None:
    narrow = served.key("narrow", ["operate"], caps=_caps(namespaces=("shared",)))
    c = served.client(narrow)
    assert c.put("/api/kv/k", json={"value": 1}, params={"namespace": "shared"}).status_code == 200
    r = c.put("/api/kv/k", json={"value": 1}, params={"namespace": "proc/secret"})
    assert r.status_code == 403
    assert r.json()["error"]["type"] == "PermissionDenied"


def test_event_stream_follows_the_kernel(served: Served) -> None:
    c = served.client()
    c.get("/api/kv")  # the key's operator process exists before the stream starts
    events: list[dict[str, object]] = []
    ready = threading.Event()

    def follow() -> None:
        with httpx.Client(base_url=served.url, timeout=15) as sse:
            headers = {"Authorization": f"Bearer {served.admin}"}
            params = {"types": "spawn,state", "max_events": 4, "timeout": 10}
            with sse.stream("GET", "/api/events", headers=headers, params=params) as r:
                assert r.headers["content-type"].startswith("text/event-stream")
                for line in r.iter_lines():
                    ready.set()
                    if line.startswith("data: "):
                        events.append(json.loads(line[6:]))

    t = threading.Thread(target=follow)
    t.start()
    assert ready.wait(10)
    pid = c.post("/api/processes", json={"program": "chatty", "args": {"rounds": 1}}).json()["pid"]
    t.join(15)
    assert not t.is_alive()
    assert events[0]["type"] == "spawn"
    assert all(e["pid"] == pid for e in events)
    assert events[1]["type"] == "state"


def _caps(**fields: object) -> object:
    from llmagentos.kernel.syscalls import Capabilities
    from llmagentos.records import replace

    return replace(Capabilities(), **fields)
