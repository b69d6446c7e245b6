"""OpenAI-compatible endpoints: `/v1/models`, `/v1/chat/completions`, `/v1/completions`.

A completion is an `LLMCall` syscall of the key's operator process, so it waits its turn
in the kernel's scheduler with the agents' calls, counts against the key's token budget
and `models` capability, and is journaled and audited. Only models the kernel has loaded
can be named: a request can never make the server load a new backend.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, cast

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from llmagentos.access import matches
from llmagentos.errors import LLMAgentOSError, ProcessExit, UnknownModel
from llmagentos.kernel.handlers import stream_call
from llmagentos.kernel.process import Process
from llmagentos.kernel.syscalls import LLMCall
from llmagentos.llm.types import LLMRequest, StreamChunk
from llmagentos.server import openai_codec as codec
from llmagentos.server import openai_schemas as o
from llmagentos.server.auth import ApiKey
from llmagentos.server.deps import OperateKey, ReadKey, State, operator_call
from llmagentos.server.errors import HTTPError
from llmagentos.server.routes.common import ERRORS, StrictRoute
from llmagentos.server.schemas import OpenAIErrorBody
from llmagentos.server.state import ServerState

_ERRORS = {status: {**spec, "model": OpenAIErrorBody} for status, spec in ERRORS.items()}
router = APIRouter(prefix="/v1", tags=["openai"], responses=_ERRORS, route_class=StrictRoute)


def _visible(key: ApiKey, name: str) -> bool:
    patterns = key.caps.models
    return patterns is None or matches(patterns, name)


@router.get("/models", response_model=o.ModelList, summary="Models clients may use")
async def models(st: State, key: ReadKey) -> o.ModelList:
    created = int(st.started_at)
    return o.ModelList(
        data=[
            o.ModelCard(id=n, created=created) for n in sorted(st.kernel.models) if _visible(key, n)
        ]
    )


def _model_name(st: ServerState, requested: str) -> str:
    name = requested or st.kernel.default_model or ""
    if name not in st.kernel.models:
        known = ", ".join(sorted(st.kernel.models)) or "none"
        raise UnknownModel(f"The model `{requested}` does not exist; available: {known}")
    return name


@router.post(
    "/chat/completions",
    response_model=o.ChatCompletion,
    summary="Create a chat completion (streamed with `stream: true`)",
    responses={
        200: {
            "content": {
                "text/event-stream": {
                    "schema": {"$ref": "#/components/schemas/ChatCompletionChunk"}
                }
            },
            "description": "A completion, or with `stream` a stream of chunk events",
        }
    },
)
async def chat_completions(body: o.ChatCompletionRequest, st: State, key: OperateKey) -> Any:
    name = _model_name(st, body.model)
    request = codec.to_request(body, name)
    rid = codec.new_id()
    proc = await _admit(st, key)
    if not body.stream:
        response = await operator_call(st, key, LLMCall(request))
        return codec.completion(response, rid=rid, model=name, request=request)
    first, chunks = await _open_stream(st, proc, request)
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    writer = codec.ChunkWriter(rid=rid, model=name, request=request, include_usage=include_usage)
    return _respond(writer, first, chunks)


@router.post(
    "/completions",
    response_model=o.Completion,
    summary="Create a text completion of a prompt (legacy; streamed with `stream: true`)",
    responses={
        200: {
            "content": {
                "text/event-stream": {"schema": {"$ref": "#/components/schemas/Completion"}}
            },
            "description": "A completion, or with `stream` a stream of completion events",
        }
    },
)
async def completions(body: o.CompletionRequest, st: State, key: OperateKey) -> Any:
    if body.suffix:  # the schema bounds it to empty; this is its error message
        raise HTTPError(400, "suffix is not supported", "unsupported_parameter")
    name = _model_name(st, body.model)
    request = codec.to_text_request(body, name)
    rid = codec.new_id("cmpl")
    echo = body.prompt_text() if body.echo else ""
    proc = await _admit(st, key)
    if not body.stream:
        response = await operator_call(st, key, LLMCall(request))
        return codec.text_completion(response, rid=rid, model=name, request=request, echo=echo)
    first, chunks = await _open_stream(st, proc, request)
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    writer = codec.TextChunkWriter(
        rid=rid, model=name, request=request, include_usage=include_usage, echo=echo
    )
    return _respond(writer, first, chunks)


async def _admit(st: ServerState, key: ApiKey) -> Process:
    """The key's operator, once the key's tokens-per-minute limit admits another call."""
    proc = await st.operators.process(key)
    st.limiter.admit_tokens(key, proc.tree_tokens)
    return proc


async def _open_stream(
    st: ServerState, proc: Process, request: LLMRequest
) -> tuple[StreamChunk, AsyncGenerator[StreamChunk, None]]:
    """Start a streamed call; its first chunk is awaited before answering, so a refusal
    (budget, capability, bad request) is an HTTP error status, not an error in a 200."""
    chunks = cast(
        AsyncGenerator[StreamChunk, None],
        stream_call(st.kernel, proc, LLMCall(request, stream=True)),
    )
    try:
        first = await chunks.__anext__()
    except StopAsyncIteration:
        first = StreamChunk(delta="", finish_reason="stop")
    except ProcessExit:
        raise HTTPError(
            503, "the key's operator process stopped; retry", "operator_stopped"
        ) from None
    return first, chunks


def _respond(
    writer: codec.EventWriter, first: StreamChunk, chunks: AsyncGenerator[StreamChunk, None]
) -> ClosingStream:
    return ClosingStream(
        _stream(writer, first, chunks),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


class ClosingStream(StreamingResponse):
    """A streaming response that closes its body when the client leaves.

    Starlette cancels a stream whose client disconnected but leaves the body generator
    suspended where it was; closing it here ends the kernel's model call now (which then
    charges what was generated) instead of whenever the generator is collected."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                await aclose()


async def _stream(
    writer: codec.EventWriter, first: StreamChunk, chunks: AsyncGenerator[StreamChunk, None]
) -> AsyncIterator[bytes]:
    async with contextlib.aclosing(chunks):
        try:
            for event in writer.events(first):
                yield event
            async for chunk in chunks:
                # After a stop sequence the rest is still drained (not sent), so the
                # kernel journals and accounts the whole call.
                for event in writer.events(chunk):
                    yield event
        except LLMAgentOSError as exc:
            yield codec.error_event(exc.message, exc.code)
        except ProcessExit:
            yield codec.error_event("the operator process stopped", "operator_stopped")
    yield codec.DONE
