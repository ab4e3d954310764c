"""One handler renders every error as RFC 9457 problem details; no stack trace ever leaves."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from newsrag.errors import INTERNAL_DETAIL, INTERNAL_TITLE, NewsragError, problem_body

log = logging.getLogger(__name__)
PROBLEM_MEDIA_TYPE = "application/problem+json"
# A 503 (store, LLM or embedder unreachable, not ready) is worth retrying soon.
UNAVAILABLE_RETRY_AFTER_S = 5


def problem_response(
    status: int,
    title: str,
    detail: str,
    type_uri: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = problem_body(status, title, detail, type_uri, **extra)
    if status == 503 and not any(name.lower() == "retry-after" for name in headers or {}):
        headers = {**(headers or {}), "Retry-After": str(UNAVAILABLE_RETRY_AFTER_S)}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def problem_for(exc: NewsragError) -> JSONResponse:
    headers = {}
    if "retry_after" in exc.extra:
        headers["Retry-After"] = str(exc.extra["retry_after"])
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="newsrag"'
    extra = {k: v for k, v in exc.extra.items() if k not in {"retry_after"}}
    return problem_response(
        exc.status, exc.title, exc.detail, exc.type_uri, headers or None, **extra
    )


_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})


def _printable(text: str) -> str:
    """``text`` as valid UTF-8: a lone surrogate a client sent in a dict key is shown escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _field_name(loc: tuple[Any, ...]) -> str:
    # only the first element is where the value came from: a body field may be called "query"
    parts = list(loc[1:] if loc and loc[0] in _LOCATIONS else loc)
    return _printable(".".join(str(part) for part in parts)) or "body"


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(NewsragError)
    async def _newsrag(_: Request, exc: NewsragError) -> JSONResponse:
        if exc.status >= 500:
            log.warning("%s: %s", exc.title, exc.detail)
        return problem_for(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for error in exc.errors():
            loc = tuple(error.get("loc", ()))
            if error.get("type") == "json_invalid":
                return problem_response(
                    400,
                    "Malformed JSON",
                    f"the request body is not valid JSON: {error.get('ctx', {}).get('error', '')}",
                    "https://newsrag.dev/problems/malformed-json",
                )
            errors.append({"field": _field_name(loc), "message": str(error.get("msg", ""))})
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
        return problem_response(
            422,
            "Invalid input",
            detail,
            "https://newsrag.dev/problems/invalid-input",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = (
            HTTPStatus(exc.status_code).phrase
            if exc.status_code in HTTPStatus._value2member_map_
            else "Error"
        )
        headers = dict(exc.headers) if exc.headers else None
        return problem_response(exc.status_code, title, str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return problem_response(500, INTERNAL_TITLE, INTERNAL_DETAIL)
