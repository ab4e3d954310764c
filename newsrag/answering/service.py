"""The ask use case: plan the query, retrieve, read, answer, time each step."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from newsrag.answering.extractive import (
    ExtractiveAnswerer,
    FacetCitations,
    ScoredSentence,
    copy_refs,
    refusal_text,
)
from newsrag.answering.reader import Reading
from newsrag.answering.short_answer import locate, typed
from newsrag.answering.verdict import Groups, compose
from newsrag.components.embeddings import Embedder
from newsrag.components.store.chroma import SentenceRow
from newsrag.config import AnswerMode, ReaderKind, Settings
from newsrag.errors import LLMUnavailable
from newsrag.retrieval.hybrid import HybridRetriever, Passage
from newsrag.retrieval.pool import FacetPassages, interleaved, retrieve_plan
from newsrag.retrieval.query import Query, QueryPlanner
from newsrag.retrieval.question import Question
from newsrag.retrieval.timeframe import TimeFrame
from newsrag.schemas import (
    AskRequest,
    AskResponse,
    ReadingOut,
    SearchRequest,
    SearchResult,
    TimeFrameOut,
)

if TYPE_CHECKING:
    from newsrag.answering.reader import LLMReader
    from newsrag.metrics import Metrics

SURE_NOTE = "The fast scorer was sure of this answer; the model was not asked."


@dataclass(frozen=True, slots=True)
class Retrieval:
    question: str
    query: Query
    passages: list[Passage]  # the whole question's, then each facet's not already there
    retrieve_ms: float
    frame: TimeFrame = field(default_factory=TimeFrame)
    facets: tuple[FacetPassages, ...] = ()  # what each part of the question retrieved
    read: Question | None = None  # the question as read once (outlets, dates, names, shape)


@dataclass(frozen=True, slots=True)
class Grounding:
    """What extractive mode found: the fallback answer, and which sentences are relevant."""

    response: AskResponse
    relevance: dict[tuple[str, int], float]
    facets: tuple[FacetCitations, ...] = ()  # each facet's evidence among the citations
    question: Question | None = None


class GenerativeBackend(Protocol):
    """Generative mode (see newsrag.answering.generative); absent when no LLM is configured."""

    def condense(self, request: AskRequest) -> str | None: ...

    def answer(
        self, request: AskRequest, retrieval: Retrieval, grounding: Grounding
    ) -> AskResponse: ...

    def stream(
        self, request: AskRequest, retrieval: Retrieval, grounding: Grounding
    ) -> Iterator[tuple[str, Any]]: ...


def time_frame_out(frame: TimeFrame) -> TimeFrameOut | None:
    if not frame.phrase and not frame.latest:
        return None
    return TimeFrameOut(
        phrase=frame.phrase,
        published_after=frame.after.isoformat() if frame.after else None,
        published_before=frame.before.isoformat() if frame.before else None,
        latest=frame.latest,
    )


def elapsed_ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


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
    ) -> None:
        self._settings = settings
        self._embedder = embedder
        self._retriever = retriever
        self._planner = QueryPlanner(retriever.index, embedder, retriever.outlets)
        self._extractive = extractive
        self._metrics = metrics
        self.generative = generative
        self.reader = reader

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
            if kind == "llm" and self.reader is not None:
                response = self.read(request, retrieval, grounding, self.reader)
            else:
                response = self.fast(request, grounding)
            notes = (note, reader_note, response.note)
            response.note = " ".join(part for part in notes if part) or None
        response.timings_ms["total"] = elapsed_ms(started)
        if response.refused:
            self._metrics.refused.inc()
        return response

    def fast(self, request: AskRequest, grounding: Grounding) -> AskResponse:
        """The fast scorer's answer, with the number, amount or date asked for when it finds
        one in the first cited sentence."""
        response = grounding.response
        best = max(grounding.relevance.values(), default=0.0)
        response.short_answer = typed(request.question, response.citations)
        if grounding.question is not None and grounding.facets:
            verdict = compose(grounding.question, grounding.facets, response.citations)
            response.short_answer = verdict.answer if verdict else response.short_answer
        response.reading = ReadingOut(
            reader="heuristic",
            score=round(best, 4),
            threshold=self._settings.retrieval.refusal_threshold,
            model=False,
        )
        return response

    def read(
        self, request: AskRequest, retrieval: Retrieval, grounding: Grounding, reader: LLMReader
    ) -> AskResponse:
        """An extractive answer whose evidence a model chose: its sentences verbatim, each with
        its exact span, and the short answer it proposed when a cited sentence holds it."""
        started = time.perf_counter()
        best = max(grounding.relevance.values(), default=0.0)
        if not retrieval.passages or best < reader.settings.skip_below:
            nothing = Reading(
                False,
                round(reader.confidence(False, best), 4),
                reader.settings.threshold,
                model=False,
            )
            return self._from_reading(request, retrieval, grounding, nothing, started)
        if grounding.facets and not grounding.response.refused:
            return self.compose(request, retrieval, grounding, reader)
        if best >= reader.settings.skip_above:  # the fast scorer is sure: its answer stands
            response = self.fast(request, grounding)
            response.note = " ".join(p for p in (response.note, SURE_NOTE) if p)
            return response
        question = retrieval.query.question if not request.history else retrieval.query.text
        try:
            reading = reader.read(
                question, retrieval.passages, grounding.relevance, asked=retrieval.query.question
            )
        except LLMUnavailable as exc:
            self._metrics.llm_errors.inc()
            if self._settings.llm.on_error == "error":
                raise
            response = self.fast(request, grounding)
            unavailable = (
                f"The LLM reader is unavailable ({exc.detail}); the fast scorer read the passages."
            )
            response.note = " ".join(p for p in (unavailable, response.note) if p)
            return response
        return self._from_reading(request, retrieval, grounding, reading, started)

    def compose(
        self, request: AskRequest, retrieval: Retrieval, grounding: Grounding, reader: LLMReader
    ) -> AskResponse:
        """A question with facets: the planner found each facet's articles and the fast scorer
        its evidence (a 1.5B model loses parts of a compound question); the model judges only
        what structure cannot: a yes/no verdict over the cited sentences, or the short answer."""
        started = time.perf_counter()
        response = self.fast(request, grounding)
        question = grounding.question
        asked: list[bool] = []

        def judge(text: str, groups: Groups) -> str | None:
            asked.append(True)
            return reader.judge(text, groups)

        try:
            if question is not None and question.yes_no:
                verdict = compose(question, grounding.facets, response.citations, judge)
                response.short_answer = verdict.answer if verdict else None
            else:
                asked.append(True)
                reading = reader.read(
                    retrieval.query.question, retrieval.passages, grounding.relevance
                )
                proposed = locate(reading.short_answer, request.question, response.citations)
                response.short_answer = proposed or response.short_answer
        except LLMUnavailable as exc:
            self._metrics.llm_errors.inc()
            if self._settings.llm.on_error == "error":
                raise
            judged = "no verdict was judged" if asked and question and question.yes_no else None
            unavailable = (
                f"The LLM reader is unavailable ({exc.detail}); "
                f"{judged or 'the fast scorer read the passages'}."
            )
            response.note = " ".join(p for p in (unavailable, response.note) if p)
            return response
        if response.reading is not None and asked:
            response.reading.reader = "llm"
            response.reading.model = True
        response.timings_ms["read"] = elapsed_ms(started)
        return response

    def _evidence(self, reading: Reading, grounding: Grounding) -> list[ScoredSentence]:
        """The fast scorer's best sentences (when it found any worth citing) and then those the
        model chose besides: the small model recognises an answer better than it finds one."""
        retrieval = self._settings.retrieval
        relevance = grounding.relevance
        best = max(relevance.values(), default=0.0)
        floor = max(retrieval.refusal_threshold, best - retrieval.answer_margin)

        def key(row: SentenceRow) -> tuple[str, int]:
            return (row.document_id, row.index)

        fast = sorted(
            (c for c in reading.candidates if relevance.get(key(c[0]), 0.0) >= floor),
            key=lambda c: -relevance.get(key(c[0]), 0.0),
        )[: retrieval.max_answer_sentences]
        chosen = fast + [c for c in reading.evidence if c not in fast]
        return [
            ScoredSentence(row, passage, 0.0, 0.0, relevance.get(key(row), 0.0))
            for row, passage in chosen[: retrieval.max_answer_sentences + 1]
        ]

    def _from_reading(
        self,
        request: AskRequest,
        retrieval: Retrieval,
        grounding: Grounding,
        reading: Reading,
        started: float,
    ) -> AskResponse:
        # only an answer the model read is the LLM reader's (the cascade's are the fast path's)
        out = ReadingOut(
            reader="llm" if reading.model else "heuristic",
            score=reading.score,
            threshold=reading.threshold,
            model=reading.model,
        )
        timings = {"retrieve": retrieval.retrieve_ms, "read": elapsed_ms(started)}
        if not reading.answerable:
            return AskResponse(
                answer=refusal_text(request.question),
                refused=True,
                mode="extractive",
                citations=[],
                timings_ms=timings,
                time_frame=time_frame_out(retrieval.frame),
                reading=out,
            )
        answer, citations, note = self._extractive.cite(self._evidence(reading, grounding))
        short = locate(reading.short_answer, request.question, citations)
        return AskResponse(
            answer=answer,
            refused=False,
            mode="extractive",
            citations=citations,
            timings_ms=timings,
            time_frame=time_frame_out(retrieval.frame),
            note=note,
            short_answer=short or typed(request.question, citations),
            reading=out,
        )

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
