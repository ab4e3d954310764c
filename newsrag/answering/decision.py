"""The reader's decision, for both modes: whether to ask the model at all, what to cite, the
short answer, and how the answer is labelled.

The cascade: nothing worth reading is refused without the model; a question with facets takes
the fast scorer's evidence per facet and asks the model only for what structure cannot decide
(a yes/no verdict, or the short answer); a fast scorer sure of its answer answers alone; else
the model reads (its names-and-numbers gate and calibrated confidence are the
:class:`~newsrag.answering.reader.LLMReader`'s). When the model is unavailable the fast scorer's
answer stands and the note says so. Generative mode writes and verifies its own answer (see
:mod:`answering.generative`) but skips, labels and falls back here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from newsrag.answering.extractive import (
    ExtractiveAnswerer,
    FacetCitations,
    ScoredSentence,
    refusal_text,
)
from newsrag.answering.reader import Reading
from newsrag.answering.short_answer import ShortAnswer, locate, typed
from newsrag.answering.verdict import Groups, compose
from newsrag.components.store.chroma import SentenceRow
from newsrag.config import Settings
from newsrag.errors import LLMUnavailable
from newsrag.retrieval.hybrid import Passage
from newsrag.retrieval.pool import FacetPassages
from newsrag.retrieval.query import Query
from newsrag.retrieval.question import Question
from newsrag.retrieval.timeframe import TimeFrame
from newsrag.schemas import (
    AskRequest,
    AskResponse,
    Citation,
    ReadingOut,
    TimeFrameOut,
    Verification,
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

    @property
    def best(self) -> float:
        return max(self.relevance.values(), default=0.0)


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


def reading_out(reading: Reading) -> ReadingOut:
    # only an answer the model read is the LLM reader's (the cascade's are the fast path's)
    return ReadingOut(
        reader="llm" if reading.model else "heuristic",
        score=reading.score,
        threshold=reading.threshold,
        model=reading.model,
    )


def short_answer_for(proposed: str, question: str, citations: list[Citation]) -> ShortAnswer | None:
    """The model's proposal where a cited sentence holds it, else the figure asked for."""
    return locate(proposed, question, citations) or typed(question, citations)


def model_question(request: AskRequest, retrieval: Retrieval) -> str:
    """What the model reads: the question as asked, or its standalone form after earlier turns."""
    return retrieval.query.question if not request.history else retrieval.query.text


class ReaderDecision:
    """Decides each answer of both modes; one per service, shared by extractive and generative."""

    def __init__(
        self, settings: Settings, extractive: ExtractiveAnswerer, metrics: Metrics
    ) -> None:
        self._settings = settings
        self._extractive = extractive
        self._metrics = metrics

    def answer(
        self,
        request: AskRequest,
        retrieval: Retrieval,
        grounding: Grounding,
        reader: LLMReader | None,
    ) -> AskResponse:
        """The extractive answer: the model reader's when ``reader`` is given, else the fast
        scorer's."""
        if reader is not None:
            return self.read(request, retrieval, grounding, reader)
        return self.fast(request, grounding)

    def fast(self, request: AskRequest, grounding: Grounding) -> AskResponse:
        """The fast scorer's answer, with the number, amount or date asked for when it finds
        one in the first cited sentence."""
        response = grounding.response
        response.short_answer = typed(request.question, response.citations)
        if grounding.question is not None and grounding.facets:
            verdict = compose(grounding.question, grounding.facets, response.citations)
            response.short_answer = verdict.answer if verdict else response.short_answer
        response.reading = self._heuristic(grounding)
        return response

    def read(
        self, request: AskRequest, retrieval: Retrieval, grounding: Grounding, reader: LLMReader
    ) -> AskResponse:
        """An extractive answer whose evidence a model chose: its sentences verbatim, each with
        its exact span, and the short answer it proposed when a cited sentence holds it."""
        started = time.perf_counter()
        best = grounding.best
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
        try:
            reading = reader.read(
                model_question(request, retrieval),
                retrieval.passages,
                grounding.relevance,
                asked=retrieval.query.question,
            )
        except LLMUnavailable as exc:
            self.failed(exc)
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
            self.failed(exc)
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

    def skipped_writing(self, grounding: Grounding, reader: LLMReader) -> ReadingOut | None:
        """Generative mode's cascade: the reading of a question with nothing worth writing
        from (refused without the model), or None when the model should write."""
        best = grounding.best
        if best >= self._settings.llm.evidence_floor:
            return None
        return ReadingOut(
            reader="heuristic",  # the cascade decided: the model never read
            score=round(reader.confidence(False, best), 4),
            threshold=reader.settings.threshold,
            model=False,
        )

    def writer_unavailable(self, exc: LLMUnavailable, grounding: Grounding) -> AskResponse:
        """Generative mode without its model: the extractive answer, saying why."""
        self.failed(exc)
        response = self.extractive_instead(
            grounding,
            f"The LLM endpoint is unavailable ({exc.detail}); answered in extractive mode.",
        )
        response.reading = self._heuristic(grounding)
        return response

    def extractive_instead(
        self, grounding: Grounding, note: str, verification: Verification | None = None
    ) -> AskResponse:
        """The extractive answer in place of a generative one, with ``note`` saying why."""
        return grounding.response.model_copy(
            update={"note": note, "verification": verification}, deep=True
        )

    def failed(self, exc: LLMUnavailable) -> None:
        """Count a failed model call; re-raise it when the settings say errors are errors
        (``llm.on_error``). Every model call of an answer (condensing, reading, writing) fails
        through here."""
        self._metrics.llm_errors.inc()
        if self._settings.llm.on_error == "error":
            raise exc

    def _heuristic(self, grounding: Grounding) -> ReadingOut:
        return ReadingOut(
            reader="heuristic",
            score=round(grounding.best, 4),
            threshold=self._settings.retrieval.refusal_threshold,
            model=False,
        )

    def _evidence(self, reading: Reading, grounding: Grounding) -> list[ScoredSentence]:
        """The fast scorer's best sentences (when it found any worth citing) and then those the
        model chose besides: the small model recognises an answer better than it finds one."""
        retrieval = self._settings.retrieval
        relevance = grounding.relevance
        floor = max(retrieval.refusal_threshold, grounding.best - retrieval.answer_margin)

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
        out = reading_out(reading)
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
        return AskResponse(
            answer=answer,
            refused=False,
            mode="extractive",
            citations=citations,
            timings_ms=timings,
            time_frame=time_frame_out(retrieval.frame),
            note=note,
            short_answer=short_answer_for(reading.short_answer, request.question, citations),
            reading=out,
        )
