"""Bad input gets a clear 4xx and the server keeps serving: oversized and malformed bodies,
unknown routes, wrong methods, slow and vanishing clients."""

from __future__ import annotations

import socket

import httpx
from server_workload import Served

from llmagentos.server import ServerConfig


def _raw(served: Served, request: bytes, *, read_timeout: float = 10.0) -> bytes:
    """Send raw bytes on a fresh connection and return everything the server answers."""
    with socket.create_connection(("127.0.0.1", served.thread.port), timeout=read_timeout) as s:
        s.sendall(request)
        chunks = []
        while True:
            try:
                data = s.recv(65536)
            except TimeoutError:
                break
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)


def _auth(served: Served) -> str:
    return f"Authorization: Bearer {served.admin}\r\n"


def test_oversized_bodies_get_413(served: Served) -> None:
    c = served.client()
    limit = served.state.config.max_body_bytes
    big = {"program": "chatty", "args": {"blob": "x" * (limit + 10)}}
    r = c.post("/api/processes", json=big)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "request_too_large"
    r = c.post("/v1/chat/completions", content=b"{" + b" " * (limit + 1) + b"}")
    assert r.status_code == 413
    assert r.json()["error"]["type"] == "invalid_request_error"  # the OpenAI error shape

    # A chunked body declares no length: it is cut off once it passes the limit.
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    r = c.put("/api/kv/big", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert c.get("/health").status_code == 200


def test_malformed_requests(served: Served) -> None:
    c = served.client()
    json_header = {"content-type": "application/json"}
    r = c.post("/api/processes", content=b'{"program": ', headers=json_header)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    r = c.post("/api/processes", content=b'{"program": "\\ud800"}', headers=json_header)
    assert r.status_code == 400  # a lone surrogate never reaches storage
    r = c.put("/api/kv/x", content=b'{"value": NaN}', headers=json_header)
    assert r.status_code == 400
    r = c.put("/api/kv/x", content=b"[" * 5000 + b"]" * 5000, headers=json_header)
    assert r.status_code == 400
    r = c.post("/api/processes", json={"program": "chatty", "surprise": 1})
    assert r.status_code == 422 and "surprise" in r.json()["error"]["message"]
    r = c.post("/api/processes", json={"program": "chatty", "priority": "5"})
    assert r.status_code == 422  # no coercion of "5" into 5
    assert c.get("/api/processes", params={"limt": 5}).status_code == 422  # misspelt option
    r = c.post("/v1/chat/completions", json={"model": "latency", "messages": "hi"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    assert c.get("/api/processes/notanumber").status_code == 422


def test_unknown_routes_and_wrong_methods(served: Served) -> None:
    c = served.client()
    r = c.get("/api/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert c.get("/v1/embeddings").json()["error"]["type"] == "not_found_error"
    r = c.delete("/api/processes")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    assert "allow" in r.headers
    assert c.put("/v1/chat/completions", json={}).status_code == 405


def test_a_slow_client_gets_408_and_others_are_served(served: Served) -> None:
    served.state.config.body_timeout_s = 1.0  # read per request, so it applies at once
    port = served.thread.port
    slow = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (
        f"PUT /api/kv/slow HTTP/1.1\r\nHost: x\r\n{_auth(served)}"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    slow.sendall(head.encode() + b'{"value": ')
    # While that client dawdles, everyone else is served: before it gets its answer.
    assert served.client().get("/api/processes").status_code == 200
    slow.setblocking(False)
    try:
        early = slow.recv(65536)
    except BlockingIOError:
        early = b""
    assert early == b""
    slow.setblocking(True)
    slow.settimeout(10)
    answer = b""
    while b"request_timeout" not in answer:
        data = slow.recv(65536)
        if not data:
            break
        answer += data
    slow.close()
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"request_timeout" in answer


def test_half_sent_headers_and_vanishing_clients_do_not_stop_the_server(
    served: Served,
) -> None:
    port = served.thread.port
    lurkers = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
    for s in lurkers:
        s.sendall(b"GET /api/processes HTTP/1.1\r\nHost: x\r\n")  # never finished
    gone = socket.create_connection(("127.0.0.1", port))
    gone.sendall(b"POST /api/kv/x HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
    gone.close()  # mid-body
    c = served.client()
    for _ in range(5):
        assert c.get("/health").status_code == 200
    answer = _raw(served, b"NONSENSE\r\n\r\n", read_timeout=3)
    assert answer.startswith(b"HTTP/1.1 400")
    for s in lurkers:
        s.close()
    assert c.get("/api/processes").status_code == 200


def test_errors_never_leak_tracebacks(served: Served) -> None:
    c = served.client()
    r = c.post("/api/processes", json={"program": "chatty", "args": {"rounds": "many"}})
    pid = r.json()["pid"]
    status = c.get(f"/api/processes/{pid}/wait").json()
    assert status["state"] == "failed"  # the agent failed, the server did not
    assert "Traceback" not in str(status)
    assert c.get("/health").json()["status"] == "ok"


def test_config_defaults_are_conservative() -> None:
    config = ServerConfig()
    assert config.host == "127.0.0.1" and config.cors_origins == () and not config.public_docs
    assert config.max_body_bytes <= 8 * 1024 * 1024
    assert httpx.codes.REQUEST_TIMEOUT == 408
