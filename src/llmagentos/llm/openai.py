"""`OpenAIBackend`: any OpenAI-compatible server (OpenAI, vLLM, SGLang, Ollama, llama.cpp).

Talks HTTP through `httpx.AsyncClient`. What it adds on top of the wire format:

* retries with exponential backoff and full jitter on 429/5xx, connection errors and read
  timeouts, honouring `Retry-After`; exhausted retries raise `RateLimited` or
  `BackendUnavailable` with the attempt count in `details`;
* typed errors for what retrying cannot fix (bad request, context too long, auth, model);
* at most `max_concurrency` requests in flight, and optional requests/tokens-per-minute
  pacing (tokens estimated before the call, settled with the real usage after);
* raw-prompt requests on the legacy `/completions` endpoint, falling back to chat once per
  backend when the server does not have it.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from llmagentos.errors import (
    BackendError,
    BackendUnavailable,
    InvalidArgument,
    InvalidState,
    LLMAgentOSError,
    PermissionDenied,
    RateLimited,
    RequestTooLarge,
    UnknownModel,
)
from llmagentos.llm import _openai_wire as wire
from llmagentos.llm._guard import check_real_model_allowed
from llmagentos.llm.ratelimit import TokenBucket
from llmagentos.llm.types import LLMRequest, LLMResponse, StreamChunk

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_CONTEXT_HINTS = ("context_length", "context length", "maximum context", "too many tokens")


@dataclass(frozen=True, slots=True)
class _Failure:
    """One failed attempt that may be retried."""

    reason: str
    status: int | None = None
    retry_after_s: float | None = None


class _LegacyMissing(Exception):
    """The server has no legacy /completions endpoint."""


class OpenAIBackend:
    """A model behind an OpenAI-compatible HTTP API. See the module docstring."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        name: str | None = None,
        max_concurrency: int = 8,
        timeout_s: float = 60.0,
        max_retries: int = 4,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        context_window: int | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if not model:
            raise InvalidArgument("OpenAIBackend needs a model name, e.g. 'gpt-4o-mini'")
        if max_concurrency < 1 or max_retries < 0 or timeout_s <= 0:
            raise InvalidArgument("max_concurrency >= 1, max_retries >= 0 and timeout_s > 0")
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.name = name or f"openai:{model}"
        self.max_concurrency = max_concurrency
        self.context_window = context_window
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        all_headers = {"User-Agent": "llmagentos"} | (headers or {})
        if key:
            all_headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.AsyncClient(
            base_url=self.base_url + "/",
            headers=all_headers,
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=max_concurrency),
            transport=transport,
        )
        # A MockTransport never leaves the process, so the real-model guard does not apply.
        self._offline = isinstance(transport, httpx.MockTransport)
        self._slots = asyncio.Semaphore(max_concurrency)
        self._rpm = TokenBucket(requests_per_minute) if requests_per_minute else None
        self._tpm = TokenBucket(tokens_per_minute) if tokens_per_minute else None
        self._has_legacy: bool | None = None  # learnt from the first raw-prompt request
        self._rng = random.Random()
        self._closed = False

    def __repr__(self) -> str:
        return f"OpenAIBackend(model={self.model!r}, base_url={self.base_url!r})"

    # -- public API ---------------------------------------------------------------------

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Answer `request` in one response."""
        self._check_usable()
        estimate = wire.estimate_prompt_tokens(request)
        async with self._slots:
            if request.raw_prompt and self._has_legacy is not False and not _shaped(request):
                try:
                    body = wire.completion_body(request, self.model, stream=False)
                    data = await self._post_json("completions", body, estimate, legacy=True)
                    response = wire.completion_response(data, self._url("completions"))
                except _LegacyMissing:
                    self._has_legacy = False
                else:
                    self._has_legacy = True
                    self._settle(estimate, response.usage.total_tokens)
                    return response
            body = wire.chat_body(request, self.model, stream=False, as_user=request.raw_prompt)
            data = await self._post_json("chat/completions", body, estimate)
            response = wire.chat_response(data, self._url("chat/completions"))
        self._settle(estimate, response.usage.total_tokens)
        return wire.unwrap_choice(request, response)

    async def stream(self, request: LLMRequest) -> AsyncIterator[StreamChunk]:
        """Stream `request`: content chunks, then one final chunk with finish reason and usage.

        Only the opening of the stream is retried; a failure mid-stream raises
        `BackendUnavailable` because the chunks already yielded cannot be taken back.
        """
        self._check_usable()
        if request.response_format and request.response_format.get("type") in ("choice", "picks"):
            raise InvalidArgument(
                "a 'choice' or 'picks' response_format is asked of OpenAI-compatible servers"
                " as JSON and read back whole: use complete(), not stream()"
            )
        estimate = wire.estimate_prompt_tokens(request)
        async with self._slots:
            response = await self._open_stream(request, estimate)
            try:
                async for chunk in _read_stream(response):
                    if chunk.finish_reason is not None:
                        self._settle(estimate, chunk.usage.total_tokens if chunk.usage else None)
                    yield chunk
            finally:
                await response.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections; the backend refuses requests afterwards."""
        self._closed = True
        await self._client.aclose()

    # -- request plumbing ---------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path}"

    def _check_usable(self) -> None:
        if self._closed:
            raise InvalidState(f"{self.name} is closed")
        if not self._offline:
            check_real_model_allowed(self.base_url)

    def _settle(self, estimate: int, actual: int | None) -> None:
        if self._tpm is not None and actual:
            self._tpm.settle(actual - estimate)

    async def _open_stream(self, request: LLMRequest, estimate: int) -> httpx.Response:
        if request.raw_prompt and self._has_legacy is not False and not _shaped(request):
            body = wire.completion_body(request, self.model, stream=True)
            try:
                response = await self._send("completions", body, estimate, stream=True, legacy=True)
            except _LegacyMissing:
                self._has_legacy = False
            else:
                self._has_legacy = True
                return response
        body = wire.chat_body(request, self.model, stream=True, as_user=request.raw_prompt)
        return await self._send("chat/completions", body, estimate, stream=True)

    async def _post_json(self, path: str, body: Any, estimate: int, *, legacy: bool = False) -> Any:
        response = await self._send(path, body, estimate, stream=False, legacy=legacy)
        return _json_body(response)

    async def _send(
        self, path: str, body: Any, estimate: int, *, stream: bool, legacy: bool = False
    ) -> httpx.Response:
        """POST with retries; return the first 2xx response (body unread when `stream`)."""
        attempt = 0
        while True:
            attempt += 1
            await self._pace(estimate if attempt == 1 else 0)
            outcome = await self._attempt(path, body, stream=stream, legacy=legacy)
            if isinstance(outcome, httpx.Response):
                return outcome
            await asyncio.sleep(self._retry_delay(outcome, attempt, path))

    async def _pace(self, tokens: int) -> None:
        if self._rpm is not None:
            await self._rpm.acquire(1)
        if self._tpm is not None and tokens:
            await self._tpm.acquire(tokens)

    async def _attempt(
        self, path: str, body: Any, *, stream: bool, legacy: bool
    ) -> httpx.Response | _Failure:
        request = self._client.build_request("POST", path, json=body)
        try:
            response = await self._client.send(request, stream=stream)
        except httpx.UnsupportedProtocol as exc:
            raise InvalidArgument(f"bad base_url {self.base_url!r}: {exc}") from exc
        except httpx.TimeoutException as exc:
            return _Failure(f"timed out ({type(exc).__name__})")
        except httpx.TransportError as exc:
            return _Failure(f"{type(exc).__name__}: {exc}")
        if response.status_code < 300:
            return response
        if stream:
            await response.aread()
            await response.aclose()
        return _classify(response, self._url(path), legacy=legacy)

    def _retry_delay(self, failure: _Failure, attempt: int, path: str) -> float:
        """Seconds to wait before the next attempt, or raise when retrying is over."""
        wait = failure.retry_after_s
        too_long = wait is not None and wait > self.backoff_cap_s
        if attempt > self.max_retries or too_long:
            cls = RateLimited if failure.status == 429 else BackendUnavailable
            why = " (Retry-After exceeds backoff_cap_s)" if too_long else ""
            raise cls(
                f"{self._url(path)} failed after {attempt} attempt(s){why}: {failure.reason}",
                attempts=attempt,
                status=failure.status,
                retry_after_s=failure.retry_after_s,
                url=self._url(path),
            )
        if wait is not None:
            return wait
        # Full jitter: spreads retries of many clients that failed together.
        return self._rng.uniform(
            0, min(self.backoff_cap_s, self.backoff_base_s * 2 ** (attempt - 1))
        )


def _shaped(request: LLMRequest) -> bool:
    """Whether the request asks for a reply format (only the chat endpoint takes one)."""
    return request.response_format is not None


def _classify(response: httpx.Response, url: str, *, legacy: bool) -> _Failure:
    """A retryable `_Failure` for 429/5xx; raise the typed error for everything else."""
    status = response.status_code
    message = _error_message(response)
    if status in RETRY_STATUSES:
        return _Failure(f"HTTP {status}: {message}", status, _retry_after(response.headers))
    if legacy and status in (404, 405) and "model" not in message.lower():
        raise _LegacyMissing
    details: dict[str, Any] = {"status": status, "url": url}
    text = f"{url} answered HTTP {status}: {message}"
    error: LLMAgentOSError
    if status == 413 or (status == 400 and any(h in message.lower() for h in _CONTEXT_HINTS)):
        error = RequestTooLarge(text, **details)
    elif status in (401, 403):
        error = PermissionDenied(text, **details)
    elif status == 404:
        error = UnknownModel(text, **details)
    elif 400 <= status < 500:
        error = InvalidArgument(text, **details)
    else:
        error = BackendError(text, **details)
    raise error


def _error_message(response: httpx.Response) -> str:
    """The server's error message: OpenAI's `{"error": {...}}` shape, else the raw text."""
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text[:300] or response.reason_phrase
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        parts = [str(err.get("message") or ""), str(err.get("code") or "")]
        return " ".join(p for p in parts if p) or response.reason_phrase
    if isinstance(err, str):
        return err
    return response.text[:300]


def _retry_after(headers: httpx.Headers) -> float | None:
    """Seconds from `retry-after-ms` or `Retry-After` (seconds or an HTTP date)."""
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = str(response.request.url)
        raise BackendError(
            f"malformed response from {where}: not JSON ({exc}); "
            f"body starts {response.text[:80]!r}",
            url=where,
        ) from None


async def _read_stream(response: httpx.Response) -> AsyncIterator[StreamChunk]:
    """Content chunks from a streamed response, then the final chunk."""
    where = str(response.request.url)
    if "json" in response.headers.get("content-type", ""):
        # A server that ignores `stream: true` answers in one piece; replay it as chunks.
        await response.aread()
        legacy = not where.endswith("chat/completions")
        parse = wire.completion_response if legacy else wire.chat_response
        answer = parse(_json_body(response), where)
        if answer.text or answer.logprobs:
            yield StreamChunk(delta=answer.text, logprobs=answer.logprobs)
        yield StreamChunk(
            delta="",
            finish_reason=answer.finish_reason,
            usage=answer.usage,
            tool_calls=answer.message.tool_calls,
        )
        return
    assembler = wire.StreamAssembler(where)
    try:
        async for data in _sse_events(response, where):
            if (chunk := assembler.feed(data)) is not None:
                yield chunk
    except httpx.TransportError as exc:
        raise BackendUnavailable(
            f"stream from {where} broke off: {type(exc).__name__}: {exc}", url=where
        ) from exc
    yield assembler.finish()


async def _sse_events(response: httpx.Response, where: str) -> AsyncIterator[Any]:
    """Decoded `data:` payloads of a server-sent-event stream, until `[DONE]` or EOF."""
    lines: list[str] = []
    async for line in response.aiter_lines():
        if line.startswith("data:"):
            lines.append(line[5:].removeprefix(" "))
            continue
        if line or not lines:
            continue  # comments, `event:`/`id:` fields, or a blank line with nothing pending
        payload, lines = "\n".join(lines), []
        if payload.strip() == "[DONE]":
            return
        yield _decode_event(payload, where)
    if lines and (payload := "\n".join(lines)).strip() != "[DONE]":
        yield _decode_event(payload, where)


def _decode_event(payload: str, where: str) -> Any:
    try:
        return json.loads(payload)
    except json.JSONDecodeError as exc:
        raise BackendError(
            f"malformed stream event from {where}: not JSON ({exc}); starts {payload[:80]!r}",
            url=where,
        ) from None
