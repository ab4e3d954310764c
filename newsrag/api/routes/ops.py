"""Operations: liveness, readiness, metrics, and what the UI needs to know about the server."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from newsrag.api.container import Container
from newsrag.api.problems import problem_response
from newsrag.api.routes.deps import ContainerDep
from newsrag.errors import NewsragError
from newsrag.schemas import Info

router = APIRouter(tags=["operations"])
VERSION = "0.1.0"


@router.get("/healthz", summary="Liveness: 200 while the process runs")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: store, embedder, corpus index and (generative mode) LLM answer",
    responses={503: {"description": "Problem details naming what is not ready."}},
)
def readyz(container: ContainerDep) -> Response:
    failures: list[str] = []
    try:
        container.services.store.heartbeat()
    except NewsragError as exc:
        failures.append(f"vector store: {exc.detail}")
    else:
        index = container.services.retriever.index
        if not index.ready:  # a question would wait for the whole archive to be read
            index.start()
            failures.append(f"corpus index: {index.status}")
    try:
        container.embedder.embed(["ready"])
    except Exception as exc:  # readiness reports any failure, it never raises
        failures.append(f"embedder: {exc}")
    model = _model_state(container)
    # A model that only reads (extractive mode) leaves answers to the fast reader when it is
    # down, and a load balancer must not pull every replica for that; generative answers (the
    # contract) or answers configured to fail without the model do stop.
    settings = container.settings
    stops_answers = settings.answer_mode == "generative" or settings.llm.on_error == "error"
    if model is not None and model["state"] != "ready" and stops_answers:
        failures.append(f"llm: {model['detail']}")
    if failures:
        return problem_response(
            503,
            "Not ready",
            "; ".join(failures),
            "https://newsrag.dev/problems/not-ready",
            checks=failures,
        )
    body: dict[str, object] = {"status": "ready"}
    if model is not None:
        body["llm"] = model
    return JSONResponse(body)


def _model_state(container: Container) -> dict[str, object] | None:
    """The model's state for /readyz (and ``newsrag_llm_up``); None when no model is used."""
    local = container.local_llm
    if local is not None:
        state = local.describe()
        detail = (
            f"the local model {local.choice.alias} is {local.state} "
            f"(restarts: {local.restarts}; last exit: {local.last_exit})"
        )
        return {**state, "detail": detail}
    if container.llm is None:
        if container.settings.answer_mode == "generative":
            detail = "generative mode needs NEWSRAG_LLM_BASE_URL"
            return {"state": "unconfigured", "detail": detail}
        return None
    try:  # a supervised server is watched by its supervisor; an endpoint of our own is pinged
        container.llm.ping(timeout_s=1.0)  # a probe's own timeout is short
    except NewsragError as exc:
        container.metrics.llm_up.set(0.0)
        return {"model": container.llm.model, "state": "down", "detail": exc.detail}
    container.metrics.llm_up.set(1.0)
    return {"model": container.llm.model, "state": "ready", "detail": "answering"}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(container: ContainerDep) -> Response:
    return Response(generate_latest(container.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/info", tags=["operations"], summary="Server facts the web UI needs")
def info(container: ContainerDep) -> Info:
    configured = container.settings.reader
    available = container.llm is not None
    return Info(
        answer_mode=container.settings.answer_mode,
        reader="llm"
        if configured == "llm" or (configured == "auto" and available)
        else "heuristic",
        generative_available=container.llm is not None,
        llm_model=container.settings.llm.model if container.llm is not None else None,
        auth_required=container.settings.api_keys is not None,
        version=VERSION,
    )
