"""HTTP errors: how kernel errors and bad requests become status codes and JSON bodies.

Two body shapes, one per audience:

* `/api/...` and the rest: `{"error": {"type", "code", "message", "details"}}`, the
  `ErrorInfo` the kernel already journals;
* `/v1/...` (OpenAI-compatible): `{"error": {"message", "type", "param", "code"}}`, the
  shape OpenAI clients parse.

Status codes follow the error tree of `llmagentos.errors`: a user error is a 4xx that says
what to fix, an access error 403 or 429, a recoverable backend error 503/504 (retry), and
only an unexpected failure a 500, which is logged and never leaks a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from llmagentos import errors as e
from llmagentos.server.schemas import ErrorBody, OpenAIErrorBody

log = logging.getLogger("llmagentos.server")

_STATUS: list[tuple[type[e.LLMAgentOSError], int]] = [
    (e.UnknownProcess, 404),
    (e.UnknownModel, 404),
    (e.UnknownTool, 404),
    (e.NotFound, 404),
    (e.InvalidState, 409),
    (e.RequestTooLarge, 413),
    (e.UserError, 400),
    (e.QuotaExceeded, 429),
    (e.AccessError, 403),
    (e.RateLimited, 429),
    (e.SyscallTimeout, 504),
    (e.RecoverableError, 503),
    (e.FatalError, 500),
]

_OPENAI_TYPE = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 408: "request_timeout"}


class HTTPError(Exception):
    """Answer the request with `status` and an error body (raised by routes)."""

    def __init__(
        self, status: int, message: str, code: str = "error", headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers


def status_of(exc: e.LLMAgentOSError) -> int:
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def _is_openai(request: Request) -> bool:
    return request.url.path.startswith("/v1/")


def error_response(
    request: Request,
    status: int,
    message: str,
    code: str,
    *,
    type_: str | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An error in the shape the route's clients expect (see the module docstring)."""
    body: ErrorBody | OpenAIErrorBody
    if _is_openai(request):
        kind = _OPENAI_TYPE.get(status, "server_error" if status >= 500 else "api_error")
        body = OpenAIErrorBody.build(message, kind, code)
    else:
        body = ErrorBody.build(type_ or code, code, message, details)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def kernel_error(request: Request, exc: e.LLMAgentOSError) -> JSONResponse:
    status = status_of(exc)
    if status >= 500:
        log.error("kernel error on %s: %s", request.url.path, exc.message)
    if _is_openai(request) and isinstance(exc, e.RequestTooLarge):
        status = 400  # what OpenAI answers for a prompt over the context window
        return error_response(request, status, exc.message, "context_length_exceeded")
    details = _jsonable(exc.details) if exc.details else None
    return error_response(
        request, status, exc.message, exc.code, type_=type(exc).__name__, details=details
    )


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, (str, int, float, bool, type(None), list)) else str(v)
        for k, v in details.items()
    }


def _validation_message(exc: RequestValidationError) -> tuple[int, str, str]:
    errs = exc.errors()
    if any(err.get("type") == "json_invalid" for err in errs):
        return 400, "the request body is not valid JSON", "invalid_json"
    parts = []
    for err in errs[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{loc or 'body'}: {err.get('msg', 'invalid')}")
    return 422, "invalid request: " + "; ".join(parts), "invalid_request"


def install(app: FastAPI) -> None:
    """Register the handlers that give every error its JSON body."""

    @app.exception_handler(e.LLMAgentOSError)
    async def _kernel(request: Request, exc: e.LLMAgentOSError) -> JSONResponse:
        return kernel_error(request, exc)

    @app.exception_handler(HTTPError)
    async def _http(request: Request, exc: HTTPError) -> JSONResponse:
        return error_response(request, exc.status, exc.message, exc.code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, message, code = _validation_message(exc)
        if _is_openai(request):
            status = 400  # OpenAI reports every malformed request as 400
        return error_response(request, status, message, code)

    @app.exception_handler(StarletteHTTPException)
    async def _starlette(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = getattr(exc, "code", None) or _HTTP_CODES.get(exc.status_code, "http_error")
        headers = dict(exc.headers) if exc.headers else None
        return error_response(request, exc.status_code, str(exc.detail), code, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "internal server error", "internal_error")
