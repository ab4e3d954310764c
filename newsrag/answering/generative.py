"""Generative answers from an OpenAI-compatible LLM that reads, verified sentence by sentence.

The model is given the most relevant sentences of the retrieved passages, numbered, as data, and
replies in JSON (constrained by a schema where the server supports one): whether they answer the
question, which sentence numbers do, and its answer in their words. Every sentence of that answer
is then checked against the sentences it rests on (see :mod:`answering.verification`); only what is
supported reaches the user, cited by exact span. When nothing survives, the response falls back
to the extractive answer or refuses, and says what was dropped.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from newsrag.answering.decision import (
    ReaderDecision,
    elapsed_ms,
    model_question,
    reading_out,
    short_answer_for,
)
from newsrag.answering.events import replay
from newsrag.answering.extractive import ExtractiveAnswerer, citation_for, refusal_text
from newsrag.answering.reader import LLMReader, Reading
from newsrag.answering.verification import (
    Claim,
    Verdict,
    Verifier,
    parse_claims,
)
from newsrag.components.embeddings import Embedder
from newsrag.components.llm.client import LLMClient
from newsrag.components.store.chroma import SentenceRow
from newsrag.config import Settings
from newsrag.errors import LLMUnavailable
from newsrag.models import StoredDocument
from newsrag.prompts import render
from newsrag.retrieval.hybrid import Passage
from newsrag.retrieval.index import CorpusIndex
from newsrag.schemas import AskRequest, AskResponse, Citation, ReadingOut, Verification
from newsrag.text.sentences import STOPWORDS

if TYPE_CHECKING:
    from newsrag.answering.decision import Grounding, Retrieval
    from newsrag.metrics import Metrics

log = logging.getLogger(__name__)
Event = tuple[str, Any]


class GenerativeAnswerer:
    def __init__(
        self,
        llm: LLMClient,
        embedder: Embedder,
        extractive: ExtractiveAnswerer,
        lexical: CorpusIndex,
        settings: Settings,
        metrics: Metrics,
        reader: LLMReader | None = None,
        decision: ReaderDecision | None = None,
    ) -> None:
        self._llm = llm
        self._extractive = extractive
        self._reader = reader or LLMReader(
            llm, extractive, settings.reading, settings.llm.context_tokens
        )
        self._decision = decision or ReaderDecision(settings, extractive, metrics)
        self._settings = settings
        self._verifier = Verifier(
            embedder,
            lexical,
            settings.llm.support_threshold,
            settings.llm.recite,
            relevance_floor=settings.llm.evidence_floor,
        )

    def condense(self, request: AskRequest) -> str | None:
        """A standalone question written by the LLM, or None (no history, or the LLM failed)."""
        if not request.history:
            return None
        history = "\n".join(f"{turn.role}: {turn.content}" for turn in request.history[-6:])
        prompt = render("condense", history=history, question=request.question)
        try:
            standalone = self._llm.chat([{"role": "user", "content": prompt}], max_tokens=80)
        except LLMUnavailable as exc:
            self._decision.failed(exc)
            log.warning("condensing with the LLM failed, using the extractive method: %s", exc)
            return None
        standalone = standalone.strip().splitlines()[0].strip() if standalone.strip() else ""
        return standalone[:500] or None

    # ------------------------------------------------------------------------------ answers

    def _sentences_by_chunk(self, passages: list[Passage]) -> dict[str, list[SentenceRow]]:
        by_chunk: dict[str, list[SentenceRow]] = {}
        for row, passage in self._extractive.candidate_sentences(passages, keep_shared=True):
            by_chunk.setdefault(passage.chunk.chunk_id, []).append(row)
        return by_chunk

    def answer(
        self, request: AskRequest, retrieval: Retrieval, grounding: Grounding
    ) -> AskResponse:
        started = time.perf_counter()
        skipped = self._decision.skipped_writing(grounding, self._reader)
        if skipped is not None:  # nothing worth reading: no LLM call
            return self._refusal(request, retrieval, started, None, skipped)
        try:
            reading = self._reader.read(
                model_question(request, retrieval),
                retrieval.passages,
                grounding.relevance,
                write=True,
                limit=self._settings.llm.reader_sentences,
                asked=retrieval.query.question,
            )
        except LLMUnavailable as exc:
            return self._decision.writer_unavailable(exc, grounding)
        out = reading_out(reading)
        if not reading.answerable or not reading.answer:
            return self._refusal(request, retrieval, started, None, out)
        claims, passages = self._claims(reading)
        chosen = self._chosen(reading)
        kept, dropped = self._verify(claims, passages, chosen, grounding.relevance)
        response = self._compose(request, retrieval, started, kept, dropped, grounding)
        if not response.refused and response.mode == "generative":
            response.short_answer = short_answer_for(
                reading.short_answer, request.question, response.citations
            )
        response.reading = out
        return response

    def _chosen(self, reading: Reading) -> dict[str, list[SentenceRow]]:
        """The sentences the model said answer, by chunk: the first place to look for support."""
        chosen: dict[str, list[SentenceRow]] = {}
        for row, passage in reading.evidence:
            chosen.setdefault(passage.chunk.chunk_id, []).append(row)
        return chosen

    def _verify(
        self,
        claims: list[Claim],
        passages: list[Passage],
        chosen: dict[str, list[SentenceRow]],
        relevance: dict[tuple[str, int], float],
    ) -> tuple[list[Verdict], list[Verdict]]:
        """Support for each claim among the sentences the model chose (so the citation is the
        sentence it read), else among all sentences of their passages."""
        first = self._verifier.verify(claims, passages, chosen) if chosen else None
        kept = list(first.kept) if first else []
        retry = [v.claim for v in first.dropped] if first else claims
        # elsewhere in those passages, only a sentence relevant to the question may support it
        second = self._verifier.verify(
            retry, passages, self._sentences_by_chunk(passages), relevance
        )
        kept += second.kept
        order = {id(claim): n for n, claim in enumerate(claims)}
        kept.sort(key=lambda verdict: order[id(verdict.claim)])
        return kept, list(second.dropped)

    def _claims(self, reading: Reading) -> tuple[list[Claim], list[Passage]]:
        """The answer's sentences with their markers turned from sentence numbers into numbers
        of the passages that hold those sentences (what the verifier checks against)."""
        candidates = reading.candidates
        passages: list[Passage] = []
        for _, passage in candidates:
            if passage not in passages:
                passages.append(passage)

        def to_passages(numbers: list[int]) -> list[int]:
            out = []
            for n in numbers:
                if 1 <= n <= len(candidates):
                    out.append(passages.index(candidates[n - 1][1]) + 1)
                else:
                    out.append(len(passages) + 1)  # a number the model was not given
            return list(dict.fromkeys(out))

        claims = []
        for claim in parse_claims(reading.answer):
            markers = to_passages(claim.markers or reading.numbers)
            claims.append(Claim(claim.text, markers))
        return claims, passages

    def _refusal(
        self,
        request: AskRequest,
        retrieval: Retrieval,
        started: float,
        verification: Verification | None,
        reading: ReadingOut | None = None,
    ) -> AskResponse:
        return AskResponse(
            answer=refusal_text(request.question),
            refused=True,
            mode="generative",
            citations=[],
            timings_ms={"retrieve": retrieval.retrieve_ms, "generate": elapsed_ms(started)},
            verification=verification,
            reading=reading,
        )

    def _compose(
        self,
        request: AskRequest,
        retrieval: Retrieval,
        started: float,
        kept: list[Verdict],
        dropped: list[Verdict],
        grounding: Grounding,
    ) -> AskResponse:
        verification = Verification(
            supported=len(kept), dropped=[f"{v.claim.text} ({v.reason})" for v in dropped]
        )
        if not kept:
            if self._settings.llm.on_unsupported == "refuse":
                return self._refusal(request, retrieval, started, verification)
            return self._decision.extractive_instead(
                grounding,
                "No sentence of the generated answer was supported by its citations; "
                "answered in extractive mode.",
                verification,
            )
        numbering = _Numbering()
        parts = [numbering.sentence(verdict) for verdict in kept]
        return AskResponse(
            answer=" ".join(parts),
            refused=False,
            mode="generative",
            citations=numbering.citations,
            timings_ms={"retrieve": retrieval.retrieve_ms, "generate": elapsed_ms(started)},
            verification=verification,
        )

    # ---------------------------------------------------------------------------- streaming

    def stream(
        self, request: AskRequest, retrieval: Retrieval, grounding: Grounding
    ) -> Iterator[Event]:
        """SSE events of the verified answer. The model's reply is structured (JSON), so the
        answer is verified whole and then sent as tokens; the UI shows "reading…" meanwhile."""
        yield from replay(self.answer(request, retrieval, grounding))


def attribution(document: StoredDocument) -> str | None:
    """'According to PinkNews (April 2017)': who published what a sentence rests on, and when."""
    when = None
    if document.published_at:
        published = dt.date.fromisoformat(document.published_at[:10])
        when = f"{calendar.month_name[published.month]} {published.year}"
    if document.source:
        return f"According to {document.source}" + (f" ({when})" if when else "")
    return f"According to an article of {when}" if when else None


class _Numbering:
    """One citation per distinct supporting span, numbered in order of first use; the first
    sentence resting on each document says its source and date."""

    def __init__(self) -> None:
        self.citations: list[Citation] = []
        self._by_span: dict[tuple[str, int, int], int] = {}
        self._attributed: set[str] = set()

    def sentence(self, verdict: Verdict) -> str:
        number = self.number(verdict)
        text = verdict.claim.text
        assert verdict.passage is not None
        document = verdict.passage.document
        lead = attribution(document) if document.document_id not in self._attributed else None
        self._attributed.add(document.document_id)
        if lead:
            first, _, rest = text.partition(" ")
            if first.casefold() in STOPWORDS and rest:
                text = first.lower() + " " + rest
            text = f"{lead}, {text}"
        return f"{text} [{number}]"

    def number(self, verdict: Verdict) -> int:
        assert verdict.evidence is not None and verdict.passage is not None
        row = verdict.evidence
        key = (row.document_id, row.start, row.end)
        if key not in self._by_span:
            self._by_span[key] = len(self.citations) + 1
            self.citations.append(
                citation_for(self._by_span[key], row, verdict.passage, verdict.support)
            )
        return self._by_span[key]
