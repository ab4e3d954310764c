"""Generative answers from an OpenAI-compatible LLM, verified sentence by sentence.

The model sees the best passages (packed best-first within a tiktoken budget) as delimited data;
its answer is parsed into sentences and markers, and only sentences that the cited passages
support reach the user (see :mod:`service.verification`). When nothing survives, the response
falls back to the extractive answer or refuses, and says what was dropped.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import time
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from core.errors import LLMUnavailable
from core.settings import Settings
from ingest.chunking import ENCODING_NAME
from ingest.embeddings import Embedder
from ingest.models import StoredDocument
from ingest.store import SentenceRow
from ingest.text import STOPWORDS
from prompts import render, text
from service.answering import elapsed_ms
from service.extractive import ExtractiveAnswerer, citation_for, refusal_text
from service.llm import LLMClient, Messages
from service.retrieval import LexicalIndex, Passage
from service.schemas import AskRequest, AskResponse, Citation, Verification
from service.verification import Verdict, Verifier, parse_claims

if TYPE_CHECKING:
    import tiktoken

    from service.answering import Grounding, Retrieval
    from service.metrics import Metrics

log = logging.getLogger(__name__)
NOT_IN_DOCUMENTS = "NOT_IN_DOCUMENTS"
Event = tuple[str, Any]


@lru_cache(maxsize=1)
def _encoding() -> tiktoken.Encoding:
    import tiktoken

    return tiktoken.get_encoding(ENCODING_NAME)


class GenerativeAnswerer:
    def __init__(
        self,
        llm: LLMClient,
        embedder: Embedder,
        extractive: ExtractiveAnswerer,
        lexical: LexicalIndex,
        settings: Settings,
        metrics: Metrics,
    ) -> None:
        self._llm = llm
        self._extractive = extractive
        self._settings = settings
        self._metrics = metrics
        self._verifier = Verifier(
            embedder,
            lexical,
            settings.llm.support_threshold,
            settings.llm.recite,
            relevance_floor=settings.retrieval.refusal_threshold,
        )

    # ------------------------------------------------------------------------------ prompts

    def pack(self, passages: list[Passage]) -> tuple[list[Passage], str]:
        """Passages best-first, numbered from 1, until the token budget is spent."""
        budget = self._settings.llm.context_tokens
        packed: list[Passage] = []
        blocks: list[str] = []
        used = 0
        for passage in passages:
            document = passage.document
            byline = ", ".join(part for part in (document.source, document.published_at) if part)
            block = render(
                "passage",
                number=str(len(packed) + 1),
                title=document.title,
                byline=f" ({byline})" if byline else "",
                text=passage.chunk.text,
            )
            cost = len(_encoding().encode(block))
            if packed and used + cost > budget:
                break
            packed.append(passage)
            blocks.append(block)
            used += cost
        return packed, "\n\n".join(blocks)

    def messages(self, question: str, passages_text: str) -> Messages:
        return [
            {"role": "system", "content": text("system")},
            {
                "role": "user",
                "content": render("answer", passages=passages_text, question=question),
            },
        ]

    def condense(self, request: AskRequest) -> str | None:
        """A standalone question written by the LLM, or None (no history, or the LLM failed)."""
        if not request.history:
            return None
        history = "\n".join(f"{turn.role}: {turn.content}" for turn in request.history[-6:])
        prompt = render("condense", history=history, question=request.question)
        try:
            standalone = self._llm.chat([{"role": "user", "content": prompt}], max_tokens=80)
        except LLMUnavailable as exc:
            self._metrics.llm_errors.inc()
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

    def _fallback(
        self, grounding: Grounding, note: str, verification: Verification | None
    ) -> AskResponse:
        return grounding.response.model_copy(
            update={"note": note, "verification": verification}, deep=True
        )

    def _llm_failed(self, exc: LLMUnavailable, grounding: Grounding) -> AskResponse:
        self._metrics.llm_errors.inc()
        if self._settings.llm.on_error == "error":
            raise exc
        return self._fallback(
            grounding,
            f"The LLM endpoint is unavailable ({exc.detail}); answered in extractive mode.",
            None,
        )

    def answer(
        self, request: AskRequest, retrieval: Retrieval, grounding: Grounding
    ) -> AskResponse:
        started = time.perf_counter()
        if grounding.response.refused:  # the same evidence gate as extractive mode: no LLM call
            return self._refusal(request, retrieval, started, None)
        packed, passages_text = self.pack(retrieval.passages)
        question = retrieval.query.question if not request.history else retrieval.query.text
        try:
            raw = self._llm.chat(self.messages(question, passages_text))
        except LLMUnavailable as exc:
            return self._llm_failed(exc, grounding)
        if NOT_IN_DOCUMENTS in raw:
            return self._refusal(request, retrieval, started, None)
        result = self._verifier.verify(
            parse_claims(raw), packed, self._sentences_by_chunk(packed), grounding.relevance
        )
        return self._compose(request, retrieval, started, result.kept, result.dropped, grounding)

    def _refusal(
        self,
        request: AskRequest,
        retrieval: Retrieval,
        started: float,
        verification: Verification | None,
    ) -> AskResponse:
        return AskResponse(
            answer=refusal_text(request.question),
            refused=True,
            mode="generative",
            citations=[],
            timings_ms={"retrieve": retrieval.retrieve_ms, "generate": elapsed_ms(started)},
            verification=verification,
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
            return self._fallback(
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
        """SSE events: each sentence is verified before its tokens are sent; ``done`` last."""
        started = time.perf_counter()
        if grounding.response.refused:
            yield from _replay(self._refusal(request, retrieval, started, None))
            return
        packed, passages_text = self.pack(retrieval.passages)
        sentences = self._sentences_by_chunk(packed)
        question = retrieval.query.question if not request.history else retrieval.query.text
        numbering = _Numbering()
        kept: list[Verdict] = []
        dropped: list[Verdict] = []
        raw = ""
        finalised = 0

        def finalise(upto: int) -> Iterator[Event]:
            nonlocal finalised
            claims = parse_claims(raw)[finalised:upto]
            finalised = max(finalised, upto)
            if not claims:
                return
            result = self._verifier.verify(claims, packed, sentences, grounding.relevance)
            dropped.extend(result.dropped)
            for verdict in result.kept:
                kept.append(verdict)
                known = len(numbering.citations)
                prefix = " " if len(kept) > 1 else ""
                yield "token", {"text": f"{prefix}{numbering.sentence(verdict)}"}
                if len(numbering.citations) > known:
                    yield "citation", numbering.citations[-1].model_dump()

        try:
            for delta in self._llm.stream(self.messages(question, passages_text)):
                raw += delta
                if NOT_IN_DOCUMENTS in raw:
                    break
                yield from finalise(max(finalised, len(parse_claims(raw)) - 1))
        except LLMUnavailable as exc:
            if not kept:
                yield from _replay(self._llm_failed(exc, grounding))
                return
            log.warning("the LLM stream broke after %d sentences: %s", len(kept), exc)
        if NOT_IN_DOCUMENTS in raw and not kept:
            yield from _replay(self._refusal(request, retrieval, started, None))
            return
        yield from finalise(len(parse_claims(raw)))
        response = self._compose(request, retrieval, started, kept, dropped, grounding)
        if response.mode != "generative" or response.refused:
            yield from _replay(response)
        else:
            yield "done", response.model_dump()


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


def _replay(response: AskResponse) -> Iterator[Event]:
    """A complete response as token, citation and done events."""
    from service.streaming import token_pieces

    for piece in token_pieces(response.answer):
        yield "token", {"text": piece}
    for citation in response.citations:
        yield "citation", citation.model_dump()
    yield "done", response.model_dump()
