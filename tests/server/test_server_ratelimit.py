"""Per-key rate limits: requests and tokens per minute, 429 with Retry-After."""

from __future__ import annotations

import sqlite3

import openai
import pytest
from server_workload import Served

from llmagentos.errors import InvalidArgument
from llmagentos.kernel.syscalls import Capabilities
from llmagentos.server.auth import ApiKey, create_table
from llmagentos.server.errors import HTTPError
from llmagentos.server.ratelimit import RateLimiter

USER = [{"role": "user", "content": "hello there"}]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _key(rpm: int | None = None, tpm: int | None = None) -> ApiKey:
    return ApiKey(
        1, "k", "abc", ("operate",), Capabilities(), ("*",), 0, 0.0, None, False, rpm, tpm
    )


def test_requests_per_minute_refill_continuously() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    key = _key(rpm=2)
    limiter.admit_request(key)
    limiter.admit_request(key)
    with pytest.raises(HTTPError) as refused:
        limiter.admit_request(key)
    assert refused.value.status == 429 and refused.value.code == "rate_limit_exceeded"
    assert refused.value.headers == {"Retry-After": "30"}  # one request per 30 s
    clock.now += 29
    with pytest.raises(HTTPError) as again:
        limiter.admit_request(key)
    assert again.value.headers == {"Retry-After": "1"}
    clock.now += 1
    limiter.admit_request(key)
    limiter.admit_request(_key())  # no limit: never refused


def test_tokens_per_minute_are_charged_after_the_fact() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    key = _key(tpm=600)  # 10 a second
    limiter.admit_tokens(key, 5_000)  # the first look charges nothing that came before
    limiter.admit_tokens(key, 5_500)  # 500 used since: 100 left, admitted
    # The call admitted last used 150 more: charged now, 50 in debt, refused until paid.
    with pytest.raises(HTTPError) as refused:
        limiter.admit_tokens(key, 5_650)
    assert refused.value.headers == {"Retry-After": "6"}  # 51 tokens at 10 a second
    clock.now += 6
    limiter.admit_tokens(key, 5_650)
    limiter.admit_tokens(key, 10)  # a new operator process counts from zero: no charge


def test_rpm_over_http_answers_429_in_each_routes_shape(served: Served) -> None:
    token = served.key("limited", ["operate"], requests_per_minute=3)
    c = served.client(token)
    assert c.get("/api/whoami").status_code == 200
    assert c.get("/api/processes").status_code == 200
    assert c.get("/v1/models").status_code == 200
    r = c.get("/api/processes")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert r.json()["error"]["code"] == "rate_limit_exceeded"
    r = c.get("/v1/models")
    assert r.status_code == 429 and r.json()["error"]["type"] == "rate_limit_error"
    # Other keys are not affected.
    assert served.client().get("/api/processes").status_code == 200


def test_tpm_with_the_openai_client(served: Served) -> None:
    token = served.key("tpm", ["operate"], tokens_per_minute=8)
    client = openai.OpenAI(api_key=token, base_url=served.url + "/v1", max_retries=0)
    try:
        out = client.chat.completions.create(model="latency", messages=USER)  # 10 tokens
        assert out.usage is not None and out.usage.total_tokens > 8
        with pytest.raises(openai.RateLimitError) as refused:
            client.completions.create(model="latency", prompt="more")
        assert int(refused.value.response.headers["Retry-After"]) >= 1
        assert refused.value.code == "rate_limit_exceeded"
    finally:
        client.close()


def test_limits_are_set_when_a_key_is_created(served: Served) -> None:
    c = served.client()
    body = {"name": "api-made", "scopes": ["read"], "requests_per_minute": 60}
    r = c.post("/api/keys", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["requests_per_minute"] == 60 and r.json()["tokens_per_minute"] is None
    bad = c.post("/api/keys", json={**body, "name": "zero", "tokens_per_minute": 0})
    assert bad.status_code == 422
    with pytest.raises(InvalidArgument):
        served.state.keys.create("neg", ["read"], requests_per_minute=-1)


def test_an_older_keys_table_gains_the_limit_columns() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE TABLE api_keys (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        " key_id TEXT NOT NULL UNIQUE, salt BLOB NOT NULL, hash BLOB NOT NULL,"
        " scopes TEXT NOT NULL, caps TEXT NOT NULL, programs TEXT NOT NULL,"
        " used_tokens INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, last_used REAL,"
        " revoked INTEGER NOT NULL DEFAULT 0)"
    )
    create_table(conn)
    create_table(conn)  # idempotent
    columns = [row[1] for row in conn.execute("PRAGMA table_info(api_keys)")]
    assert columns[-2:] == ["rpm", "tpm"]
