"""The ask use case: plan the query, retrieve, read, answer, time each step."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

from newsrag.answering.decision import (
    Grounding,
    ReaderDecision,
    Retrieval,
    elapsed_ms,
    time_frame_out,
)
from newsrag.answering.extractive import (
    ExtractiveAnswerer,
    FacetCitations,
    copy_refs,
    refusal_text,
)
from newsrag.components.embeddings import Embedder
from newsrag.config import AnswerMode, ReaderKind, Settings
from newsrag.retrieval.hybrid import HybridRetriever
from newsrag.retrieval.pool import interleaved, retrieve_plan
from newsrag.retrieval.query import QueryPlanner
from newsrag.schemas import AskRequest, AskResponse, SearchRequest, SearchResult

if TYPE_CHECKING:
    from newsrag.answering.reader import LLMReader
    from newsrag.metrics import Metrics


class GenerativeBackend(Protocol):
    """Generative mode (see newsrag.answering.generative); absent when no LLM is configured."""

    def condense(self, request: AskRequest) -> str | None: ...

    def answer(
        self, request: AskRequest, retrieval: Retrieval, grounding: Grounding
    ) -> AskResponse: ...

    def stream(
        self, request: AskRequest, retrieval: Retrieval, grounding: Grounding
    ) -> Iterator[tuple[str, Any]]: ...


class AskService:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        retriever: HybridRetriever,
        extractive: ExtractiveAnswerer,
        metrics: Metrics,
        generative: GenerativeBackend | None = None,
        reader: LLMReader | None = None,
        decision: ReaderDecision | None = None,
    ) -> None:
        self._settings = settings
        self._embedder = embedder
        self._retriever = retriever
        self._planner = QueryPlanner(retriever.index, embedder, retriever.outlets)
        self._extractive = extractive
        self._metrics = metrics
        self.generative = generative
        self.reader = reader
        self.decision = decision or ReaderDecision(settings, extractive, metrics)

    def search(self, request: SearchRequest) -> list[SearchResult]:
        """Passages for a query, planned as a question is (spelling, time words, filters)."""
        plan = self._planner.plan(
            request.query,
            document_ids=request.document_ids,
            published_after=request.published_after,
            published_before=request.published_before,
            as_of=request.as_of,
        )
        top_k = request.top_k or self._settings.retrieval.top_k
        pool = retrieve_plan(self._retriever, plan, top_k)
        passages = interleaved(pool, top_k) if pool.facets else pool.passages
        return [
            SearchResult(
                document_id=p.document.document_id,
                title=p.document.title,
                chunk_id=p.chunk.chunk_id,
                text=p.chunk.text,
                start=p.chunk.start,
                end=p.chunk.end,
                score=p.score,
                published_at=p.document.published_at,
                also_in=copy_refs(p),
            )
            for p in passages
        ]

    def retrieve(self, request: AskRequest, standalone: str | None = None) -> Retrieval:
        """Passages for the question (``standalone``: an LLM's rewrite of a follow-up)."""
        started = time.perf_counter()
        plan = self._planner.plan(
            request.question,
            request.history,
            document_ids=request.document_ids,
            published_after=request.published_after,
            published_before=request.published_before,
            as_of=request.as_of,
            standalone=standalone,
        )
        top_k = request.top_k or self._settings.retrieval.top_k
        pool = retrieve_plan(self._retriever, plan, top_k)
        return Retrieval(
            request.question,
            plan.query,
            pool.passages,
            elapsed_ms(started),
            plan.frame,
            pool.facets,
            plan.question,
        )

    def mode_for(self, request: AskRequest) -> tuple[AnswerMode, str | None]:
        mode = request.mode or self._settings.answer_mode
        if mode == "generative" and self.generative is None:
            return "extractive", (
                "Generative mode is not available: no LLM endpoint is configured "
                "(NEWSRAG_LLM_BASE_URL); answered in extractive mode."
            )
        return mode, None

    def reader_for(self, request: AskRequest) -> tuple[ReaderKind, str | None]:
        """The reader that decides: the request's, else the server's (``auto``: the LLM reader
        when a model is available). A request for an unavailable model reader is answered by
        the fast scorer and says so."""
        configured = self._settings.reader
        wanted = request.reader or (
            configured if configured != "auto" else ("llm" if self.reader else "heuristic")
        )
        if wanted == "llm" and self.reader is None:
            return "heuristic", (
                "The LLM reader is not available: no model is configured (NEWSRAG_LLM_BASE_URL "
                "or the local model); the fast scorer read the passages."
            )
        return wanted, None

    def ask(self, request: AskRequest) -> AskResponse:
        started = time.perf_counter()
        mode, note = self.mode_for(request)
        if mode == "generative" and self.generative is not None:
            retrieval = self.retrieve(request, self.generative.condense(request))
            response = self.generative.answer(
                request, retrieval, self.grounding(request, retrieval)
            )
        else:
            retrieval = self.retrieve(request)
            grounding = self.grounding(request, retrieval)
            kind, reader_note = self.reader_for(request)
            reader = self.reader if kind == "llm" else None
            response = self.decision.answer(request, retrieval, grounding, reader)
            notes = (note, reader_note, response.note)
            response.note = " ".join(part for part in notes if part) or None
        response.timings_ms["total"] = elapsed_ms(started)
        if response.refused:
            self._metrics.refused.inc()
        return response

    def grounding(self, request: AskRequest, retrieval: Retrieval) -> Grounding:
        """The extractive answer and the relevance of every candidate sentence."""
        started = time.perf_counter()
        if not retrieval.passages:
            result_answer, citations, refused = refusal_text(request.question), [], True
            relevance: dict[tuple[str, int], float] = {}
            copies_note = None
            facets: tuple[FacetCitations, ...] = ()
        else:
            result = self._extractive.answer(
                request.question, retrieval.query, retrieval.passages, retrieval.facets
            )
            result_answer, citations, refused = result.answer, result.citations, result.refused
            relevance, copies_note, facets = result.relevance, result.note, result.facets
        response = AskResponse(
            answer=result_answer,
            refused=refused,
            mode="extractive",
            citations=citations,
            timings_ms={"retrieve": retrieval.retrieve_ms, "generate": elapsed_ms(started)},
            time_frame=time_frame_out(retrieval.frame),
            note=copies_note,
        )
        return Grounding(response, relevance, facets, retrieval.read)

    def stream_generative(self, request: AskRequest) -> Iterator[tuple[str, Any]]:
        """SSE events of a generative answer; the ``done`` event carries the verified answer."""
        if self.generative is None:
            raise RuntimeError("stream_generative called without a generative backend")
        retrieval = self.retrieve(request, self.generative.condense(request))
        started = time.perf_counter()
        for event, payload in self.generative.stream(
            request, retrieval, self.grounding(request, retrieval)
        ):
            if event == "done":
                payload["timings_ms"]["total"] = elapsed_ms(started) + retrieval.retrieve_ms
                if payload.get("refused"):
                    self._metrics.refused.inc()
            yield event, payload
