"""The FastAPI application factory."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from core.settings import Settings
from service import logs
from service.container import Container
from service.problems import install_problem_handlers
from service.routes import ask, documents, openai_compat, ops, ui
from service.security import install_security

log = logging.getLogger(__name__)
access_log = logging.getLogger("newsrag.access")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
API_DESCRIPTION = """Answers questions about news articles with passages it cites exactly:
every citation's `quote` equals `document_text[start:end]` of `GET /v1/documents/{id}`.
Errors are RFC 9457 problem details (`application/problem+json`)."""


def _route_label(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", "unmatched"))


def create_app(settings: Settings, container: Container | None = None) -> FastAPI:
    """Build the app; the lifespan loads the embedder, opens the store, bootstraps the corpus."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built = container if container is not None else await run_in_threadpool(Container, settings)
        app.state.container = built
        if await run_in_threadpool(built.try_connect):
            await run_in_threadpool(built.bootstrap)
        yield

    app = FastAPI(
        title="newsrag",
        version=ops.VERSION,
        description=API_DESCRIPTION,
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    install_security(app, settings)

    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request_id = (request.headers.get("x-request-id") or uuid.uuid4().hex)[:100]
        token = logs.request_id.set(request_id)
        started = time.perf_counter()
        try:
            response = await call_next(request)
            route = _route_label(request)
            metrics = request.app.state.container.metrics
            metrics.requests.labels(route, request.method, str(response.status_code)).inc()
            elapsed = time.perf_counter() - started
            metrics.latency.labels(route, request.method).observe(elapsed)
            access_log.info(
                "%s %s %s",
                request.method,
                request.url.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.url.path,
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
        finally:
            logs.request_id.reset(token)
        response.headers["X-Request-ID"] = request_id
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    app.include_router(ops.router)
    app.include_router(documents.router)
    app.include_router(ask.router)
    app.include_router(openai_compat.router)
    app.include_router(ui.router)
    app.mount("/static", StaticFiles(directory=ui.STATIC_DIR), name="static")
    return app
