"""`OpenAIServer`: a real OpenAI-compatible HTTP server on loopback, answering from an `LLMBackend`.

For tests of HTTP clients (the `openai:` backend, other tools) without a network or a GPU:

```python
with OpenAIServer(ScriptedModel(["hi"])) as server:
    backend = OpenAIBackend("m", base_url=server.base_url)
```

It serves `GET /v1/models`, `POST /v1/chat/completions` (plain or streamed, tools, logprobs)
and `POST /v1/completions` from its own thread and event loop on port 0, records every
request, tracks how many model requests were in flight at once, and injects faults:
`fail_next` (status, optional `Retry-After`), `malformed_next` (broken JSON) and `delay_s`.
Stdlib only; the backend is called on the server's event loop.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from pydantic import ValidationError

from llmagentos.errors import (
    BackendUnavailable,
    LLMAgentOSError,
    RateLimited,
    RequestTooLarge,
    UnknownModel,
    UserError,
)
from llmagentos.llm import _openai_schema as w
from llmagentos.llm.base import LLMBackend
from llmagentos.llm.types import LLMRequest
from llmagentos.testing import _openai_codec as codec
from llmagentos.testing._http import HttpRequest, ResponseWriter, serve_connection

MALFORMED_BODY = b'{"id": "chatcmpl-broken", "choices": [{"message": '
_MODEL_PATHS = ("/v1/chat/completions", "/v1/completions")


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """A request the server received: `body` is the parsed JSON (None when empty or not JSON)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any


@dataclass(frozen=True, slots=True)
class _Fault:
    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] | None = None
    malformed: bool = False


class _Reply(Exception):
    """Answer the current request with an OpenAI-style error body."""

    def __init__(self, status: int, message: str, code: str | None = None, headers: Any = None):
        super().__init__(message)
        self.status, self.code, self.headers = status, code, headers

    def body(self) -> bytes:
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        error = {"message": str(self), "type": kind, "code": self.code, "param": None}
        return json.dumps({"error": error}).encode()


class OpenAIServer:
    """A loopback OpenAI-compatible server over `backend`; see the module docstring.

    `api_key`: require `Authorization: Bearer <api_key>` (401 otherwise). `models`: the model
    names it knows (404 `model_not_found` for others); by default any name is accepted.
    `legacy_completions=False` answers /v1/completions with 404, as chat-only servers do.
    Requests whose words plus `max_tokens` exceed `backend.context_window` get OpenAI's
    400 `context_length_exceeded`.
    """

    def __init__(
        self,
        backend: LLMBackend,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        models: tuple[str, ...] | None = None,
        legacy_completions: bool = True,
    ) -> None:
        self.backend = backend
        self.host = host
        self.port = port
        self.api_key = api_key
        self.models = models
        self.legacy_completions = legacy_completions
        self.delay_s = 0.0
        self.in_flight = 0
        self.max_concurrent = 0
        self._requests: list[RecordedRequest] = []
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._startup_error: BaseException | None = None

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>/v1`, what an OpenAI client takes as its base URL."""
        if self._thread is None:
            raise RuntimeError("OpenAIServer is not started")
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> str:
        """Start serving in a background thread; return the base URL."""
        if self._thread is not None:
            return self.base_url
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="openai-server", daemon=True
        )
        self._thread.start()
        ready.wait()
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            raise self._startup_error
        return self.base_url

    def stop(self) -> None:
        """Stop serving, dropping open connections; safe to call twice."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        self._thread = None

    def _run(self, ready: threading.Event) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            server = loop.run_until_complete(
                asyncio.start_server(self._connected, self.host, self.port)
            )
        except OSError as exc:
            self._startup_error = exc
            ready.set()
            loop.close()
            return
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            for task in self._tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*self._tasks, return_exceptions=True))
            loop.run_until_complete(server.wait_closed())
            loop.close()

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await serve_connection(reader, writer, self._handle)
        finally:
            self._tasks.discard(task)

    def __enter__(self) -> OpenAIServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> OpenAIServer:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    # -- inspection and fault injection ---------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def model_requests(self) -> list[RecordedRequest]:
        """The requests to the completion endpoints (each retry is one)."""
        return [r for r in self.requests if r.path in _MODEL_PATHS]

    def fail_next(
        self,
        count: int = 1,
        status: int = 503,
        *,
        retry_after: float | str | None = None,
        message: str | None = None,
        code: str | None = None,
    ) -> None:
        """Answer the next `count` model requests with `status` (and `Retry-After`, if given)."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        body = _Reply(status, message or f"injected failure {status}", code).body()
        with self._lock:
            self._faults.extend(
                _Fault(status=status, body=body, headers=headers) for _ in range(count)
            )

    def malformed_next(self, count: int = 1, body: bytes | str = MALFORMED_BODY) -> None:
        """Answer the next `count` model requests with 200 and `body` (broken JSON by default)."""
        raw = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._faults.extend(_Fault(body=raw, malformed=True) for _ in range(count))

    def reset(self) -> None:
        """Forget recorded requests, pending faults, the delay and the concurrency peak."""
        with self._lock:
            self._requests.clear()
            self._faults.clear()
        self.delay_s = 0.0
        self.max_concurrent = 0

    def _take_fault(self) -> _Fault | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    # -- request handling ---------------------------------------------------------------

    async def _handle(self, request: HttpRequest, response: ResponseWriter) -> None:
        path = request.path.split("?", 1)[0].rstrip("/")
        try:
            body = request.json() if request.body else None
        except (ValueError, UnicodeDecodeError):
            body = None
        with self._lock:
            self._requests.append(
                RecordedRequest(request.method, path, dict(request.headers), body)
            )
        counted = path in _MODEL_PATHS
        if counted:
            self.in_flight += 1
            self.max_concurrent = max(self.max_concurrent, self.in_flight)
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            await self._route(request, path, body, response)
        except _Reply as reply:
            await self._send_error(response, reply)
        except LLMAgentOSError as exc:
            await self._send_error(response, _reply_for(exc))
        except Exception as exc:  # the backend under test broke: report it, keep serving
            await self._send_error(response, _Reply(500, f"{type(exc).__name__}: {exc}"))
        finally:
            if counted:
                self.in_flight -= 1

    async def _send_error(self, response: ResponseWriter, reply: _Reply) -> None:
        if response.started:
            # Mid-stream: OpenAI sends the error as an event, then ends the stream.
            await response.write(b"data: " + reply.body() + b"\n\n")
            await response.end_stream()
        else:
            await response.send(reply.status, reply.body(), headers=reply.headers)

    async def _route(
        self, request: HttpRequest, path: str, body: Any, response: ResponseWriter
    ) -> None:
        auth = request.headers.get("authorization")
        if self.api_key is not None and auth != f"Bearer {self.api_key}":
            raise _Reply(401, "Incorrect API key provided.", "invalid_api_key")
        if request.method == "GET" and path == "/v1/models":
            names = self.models or (self.backend.name,)
            listing = w.ModelList(data=[w.ModelCard(id=n) for n in names])
            await response.send(200, listing.model_dump_json().encode())
            return
        if request.method != "POST" or path not in _MODEL_PATHS:
            raise _Reply(404, f"Not Found: {request.method} {path}")
        if path == "/v1/completions" and not self.legacy_completions:
            raise _Reply(404, f"Not Found: {request.method} {path}")
        if not isinstance(body, dict):
            raise _Reply(400, "the request body must be a JSON object")
        fault = self._take_fault()
        stream = bool(body.get("stream"))
        if fault is not None:
            await self._send_fault(fault, response, stream=stream)
            return
        await self._answer(path, body, response, stream=stream)

    async def _send_fault(self, fault: _Fault, response: ResponseWriter, *, stream: bool) -> None:
        if fault.malformed and stream:
            await response.start_stream()
            await response.write(b"data: " + fault.body + b"\n\n")
            await response.end_stream()
        else:
            await response.send(fault.status, fault.body, headers=fault.headers)

    def _check(self, llm_request: LLMRequest) -> None:
        if self.models is not None and llm_request.model not in self.models:
            raise _Reply(
                404,
                f"The model `{llm_request.model}` does not exist or you do not have access to it.",
                "model_not_found",
            )
        window = self.backend.context_window
        prompt = sum(len(m.content.split()) for m in llm_request.messages)
        if window is not None and prompt + llm_request.max_tokens > window:
            raise _Reply(
                400,
                f"This model's maximum context length is {window} tokens. However, you requested "
                f"{prompt + llm_request.max_tokens} tokens ({prompt} in the messages, "
                f"{llm_request.max_tokens} in the completion). Please reduce the length of the "
                "messages or completion.",
                "context_length_exceeded",
            )

    async def _answer(
        self, path: str, body: dict[str, Any], response: ResponseWriter, *, stream: bool
    ) -> None:
        chat = path == "/v1/chat/completions"
        parsed = _validate(w.ChatCompletionRequest if chat else w.CompletionRequest, body)
        llm_request = codec.chat_request(parsed) if chat else codec.completion_request(parsed)
        self._check(llm_request)
        rid = f"{'chatcmpl' if chat else 'cmpl'}-{next(self._ids)}"
        model = llm_request.model or self.backend.name
        if not stream:
            answer = await self.backend.complete(llm_request)
            to_body = codec.chat_completion if chat else codec.completion
            await response.send(200, json.dumps(to_body(answer, rid=rid, model=model)).encode())
            return
        usage = bool(parsed.stream_options and parsed.stream_options.include_usage)
        await response.start_stream()
        first = True
        async for chunk in self.backend.stream(llm_request):
            if chat:
                events = codec.chat_chunk_events(
                    chunk, rid=rid, model=model, first=first, include_usage=usage
                )
            else:
                events = codec.completion_chunk_events(
                    chunk, rid=rid, model=model, include_usage=usage
                )
            for event in events:
                await response.write(b"data: " + json.dumps(event).encode() + b"\n\n")
            first = False
        await response.write(b"data: [DONE]\n\n")
        await response.end_stream()


def _validate(model: type[w.Wire], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise _Reply(400, f"invalid request: {loc}: {first['msg']}") from None


def _reply_for(exc: LLMAgentOSError) -> _Reply:
    """The HTTP error an OpenAI server would give for what the backend raised."""
    if isinstance(exc, UnknownModel):
        return _Reply(404, exc.message, "model_not_found")
    if isinstance(exc, RequestTooLarge):
        return _Reply(400, exc.message, "context_length_exceeded")
    if isinstance(exc, UserError):
        return _Reply(400, exc.message, exc.code)
    if isinstance(exc, RateLimited):
        return _Reply(429, exc.message, "rate_limit_exceeded")
    if isinstance(exc, BackendUnavailable):
        return _Reply(503, exc.message)
    return _Reply(500, exc.message, exc.code)


@contextmanager
def serve_openai(backend: LLMBackend, **options: Any) -> Iterator[str]:
    """Serve `backend` on loopback for the duration of the block; yields the base URL."""
    with OpenAIServer(backend, **options) as server:
        yield server.base_url
