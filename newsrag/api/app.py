"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from newsrag.api.container import Container
from newsrag.api.observe import ObserveMiddleware
from newsrag.api.poller import Poller
from newsrag.api.problems import install_problem_handlers
from newsrag.api.routes import ask, documents, openai_compat, ops, sources, ui
from newsrag.api.security import install_security
from newsrag.config import Settings

log = logging.getLogger(__name__)
# Start-up waits this long for the corpus index: a small archive is ready when the app serves;
# a large one is built on in the background while /healthz answers and /readyz says "building".
INDEX_START_WAIT_S = 5.0
API_DESCRIPTION = """Answers questions about news articles with passages it cites exactly:
every citation's `quote` equals `document_text[start:end]` of `GET /v1/documents/{id}`.
Errors are RFC 9457 problem details (`application/problem+json`)."""


def create_app(settings: Settings, container: Container | None = None) -> FastAPI:
    """Build the app; the lifespan loads the embedder, opens the store, bootstraps the corpus
    and starts building the corpus index."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built = container if container is not None else await run_in_threadpool(Container, settings)
        app.state.container = built
        if await run_in_threadpool(built.try_connect):
            await run_in_threadpool(built.bootstrap)
            await run_in_threadpool(built.start_index, INDEX_START_WAIT_S)
        poller = None
        if settings.sources.poll:  # registered sources, synced when due (see api.poller)
            poller = Poller(lambda: built.services.sources, settings.sources.poll_interval_s)
            poller.start()
        try:
            yield
        finally:
            if poller is not None:
                await run_in_threadpool(poller.stop)
            await run_in_threadpool(built.save_index)

    app = FastAPI(
        title="newsrag",
        version=ops.VERSION,
        description=API_DESCRIPTION,
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    install_security(app, settings)

    app.add_middleware(ObserveMiddleware)  # outermost: also sees 401/413/429

    app.include_router(ops.router)
    app.include_router(documents.router)
    app.include_router(sources.router)
    app.include_router(ask.router)
    app.include_router(openai_compat.router)
    app.include_router(ui.router)
    app.mount("/static", StaticFiles(directory=ui.STATIC_DIR), name="static")
    return app
