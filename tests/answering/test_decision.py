"""The reader's decision on its own: which answers ask the model, and what stands when it fails.

The reader is a fake that records its calls, so each test asserts whether the model was asked,
not only what came back."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from newsrag.answering.decision import (
    SURE_NOTE,
    Grounding,
    ReaderDecision,
    Retrieval,
    model_question,
)
from newsrag.answering.extractive import ExtractiveAnswerer
from newsrag.answering.reader import LLMReader, Reading
from newsrag.components.store.rows import ChunkHit
from newsrag.config import LLMSettings, ReadingSettings, Settings
from newsrag.errors import LLMUnavailable
from newsrag.metrics import Metrics
from newsrag.models import StoredDocument
from newsrag.retrieval.hybrid import Passage
from newsrag.retrieval.query import Query
from newsrag.schemas import AskRequest, AskResponse, Citation, Message
from tests.helpers import make_settings

QUOTE = "The council voted 7 to 2 on Tuesday to approve the Riverside bridge."


class FakeReader:
    """Stands in for :class:`LLMReader`: records each model call, or fails like the endpoint."""

    def __init__(self, settings: ReadingSettings, fails: bool = False) -> None:
        self.settings = settings
        self.fails = fails
        self.calls: list[str] = []

    def confidence(self, verdict: float, best: float, agree: bool = False) -> float:
        return 0.1 + best / 10

    def read(self, question: str, *args: Any, **kwargs: Any) -> Reading:
        self.calls.append(question)
        if self.fails:
            raise LLMUnavailable("connection refused")
        return Reading(False, 0.3, self.settings.threshold, model=True)


def passage() -> Passage:
    chunk = ChunkHit("bridge#c0", "bridge", "h", QUOTE, 0, len(QUOTE), 0, 0, 0.9)
    document = StoredDocument("bridge", "Council approves new bridge", "h", 1, "2024-01-01")
    return Passage(chunk, document, 1.0, 1, 1)


def retrieval(passages: list[Passage], text: str = "bridge vote") -> Retrieval:
    vector = np.zeros((1, 4), dtype=np.float32)
    query = Query(text, "How did the council vote?", vector, vector)
    return Retrieval("How did the council vote?", query, passages, 3.0)


def grounding(best: float) -> Grounding:
    citation = Citation(
        id=1,
        document_id="bridge",
        title="Council approves new bridge",
        chunk_id="bridge#c0",
        quote=QUOTE,
        start=0,
        end=len(QUOTE),
        score=best,
    )
    response = AskResponse(
        answer=f"{QUOTE} [1]",
        refused=False,
        mode="extractive",
        citations=[citation],
        timings_ms={"retrieve": 3.0, "generate": 1.0},
    )
    return Grounding(response, {("bridge", 0): best})


def decision(settings: Settings) -> tuple[ReaderDecision, Metrics]:
    metrics = Metrics()
    # the extractive answerer only cites what the model chose; no test here gets that far
    return ReaderDecision(settings, cast(ExtractiveAnswerer, None), metrics), metrics


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, reading=ReadingSettings(skip_below=0.2, skip_above=0.9))


def errors(metrics: Metrics) -> float | None:
    return metrics.registry.get_sample_value("newsrag_llm_errors_total")


def as_reader(fake: FakeReader) -> LLMReader:
    return cast(LLMReader, fake)


def ask() -> AskRequest:
    return AskRequest(question="How did the council vote?")


def test_nothing_worth_reading_is_refused_without_the_model(settings: Settings) -> None:
    reader = FakeReader(settings.reading)
    decide, _ = decision(settings)
    response = decide.answer(ask(), retrieval([passage()]), grounding(0.1), as_reader(reader))
    assert reader.calls == []
    assert response.refused and response.citations == []
    assert response.reading is not None and response.reading.model is False
    assert response.reading.reader == "heuristic" and response.reading.score == 0.11
    assert set(response.timings_ms) == {"retrieve", "read"}


def test_no_passages_are_refused_without_the_model(settings: Settings) -> None:
    reader = FakeReader(settings.reading)
    decide, _ = decision(settings)
    response = decide.answer(ask(), retrieval([]), grounding(0.5), as_reader(reader))
    assert reader.calls == [] and response.refused


def test_a_sure_fast_scorer_answers_without_the_model(settings: Settings) -> None:
    reader = FakeReader(settings.reading)
    decide, _ = decision(settings)
    response = decide.answer(ask(), retrieval([passage()]), grounding(0.95), as_reader(reader))
    assert reader.calls == []
    assert not response.refused and response.note == SURE_NOTE
    assert response.reading is not None and response.reading.reader == "heuristic"


def test_between_the_cascade_s_bounds_the_model_decides(settings: Settings) -> None:
    reader = FakeReader(settings.reading)
    decide, _ = decision(settings)
    response = decide.answer(ask(), retrieval([passage()]), grounding(0.5), as_reader(reader))
    assert reader.calls == ["How did the council vote?"]
    assert response.refused  # the model said no
    assert response.reading is not None and response.reading.model is True
    assert response.reading.reader == "llm"


def test_without_a_model_reader_the_fast_scorer_answers(settings: Settings) -> None:
    decide, _ = decision(settings)
    response = decide.answer(ask(), retrieval([passage()]), grounding(0.5), None)
    assert not response.refused and response.note is None
    assert response.reading is not None and response.reading.model is False
    assert response.reading.threshold == settings.retrieval.refusal_threshold


def test_an_unavailable_model_leaves_the_fast_answer_and_says_why(settings: Settings) -> None:
    reader = FakeReader(settings.reading, fails=True)
    decide, metrics = decision(settings)
    response = decide.answer(ask(), retrieval([passage()]), grounding(0.5), as_reader(reader))
    assert reader.calls and not response.refused
    assert response.note == (
        "The LLM reader is unavailable (connection refused); the fast scorer read the passages."
    )
    assert errors(metrics) == 1


def test_an_unavailable_model_is_an_error_when_configured(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, llm=LLMSettings(base_url=None, on_error="error"))
    decide, metrics = decision(settings)
    reader = FakeReader(settings.reading, fails=True)
    with pytest.raises(LLMUnavailable):
        decide.answer(ask(), retrieval([passage()]), grounding(0.5), as_reader(reader))
    assert errors(metrics) == 1


def test_the_model_reads_the_standalone_question_after_earlier_turns() -> None:
    follow_up = AskRequest(
        question="And how did it vote?",
        history=[Message(role="user", content="Did the council approve the bridge?")],
    )
    assert model_question(follow_up, retrieval([], "council bridge vote")) == (
        "council bridge vote"
    )
    assert model_question(ask(), retrieval([])) == "How did the council vote?"


def test_writing_is_skipped_below_the_evidence_floor(settings: Settings) -> None:
    reader = FakeReader(settings.reading)
    decide, _ = decision(settings)
    skipped = decide.skipped_writing(grounding(0.1), as_reader(reader))
    assert skipped is not None and skipped.model is False and skipped.reader == "heuristic"
    assert skipped.threshold == settings.reading.threshold and skipped.score == 0.11
    assert decide.skipped_writing(grounding(0.5), as_reader(reader)) is None
    assert reader.calls == []


def test_an_unavailable_writer_falls_back_to_a_copy_of_the_extractive_answer(
    settings: Settings,
) -> None:
    decide, metrics = decision(settings)
    found = grounding(0.5)
    response = decide.writer_unavailable(LLMUnavailable("timed out"), found)
    assert (
        response.note == "The LLM endpoint is unavailable (timed out); answered in extractive mode."
    )
    assert response.reading is not None and response.reading.model is False
    assert response.citations == found.response.citations
    assert found.response.note is None and found.response.reading is None  # a copy
    assert errors(metrics) == 1
