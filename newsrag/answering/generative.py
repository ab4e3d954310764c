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
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from newsrag.answering.extractive import ExtractiveAnswerer, citation_for, refusal_text
from newsrag.answering.service import elapsed_ms
from newsrag.answering.verification import (
    Claim,
    Verdict,
    Verifier,
    names_and_numbers_in,
    parse_claims,
)
from newsrag.components.embeddings import Embedder
from newsrag.components.llm.client import LLMClient, Messages
from newsrag.components.store.chroma import SentenceRow
from newsrag.config import Settings
from newsrag.errors import LLMUnavailable
from newsrag.models import StoredDocument
from newsrag.prompts import render, text
from newsrag.retrieval.hybrid import LexicalIndex, Passage
from newsrag.schemas import AskRequest, AskResponse, Citation, Verification
from newsrag.text.chunking import ENCODING_NAME
from newsrag.text.sentences import STOPWORDS

if TYPE_CHECKING:
    import tiktoken

    from newsrag.answering.service import Grounding, Retrieval
    from newsrag.metrics import Metrics

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
            relevance_floor=settings.llm.evidence_floor,
        )

    # ------------------------------------------------------------------------------ prompts

    def candidates(
        self, passages: list[Passage], relevance: dict[tuple[str, int], float]
    ) -> list[tuple[SentenceRow, Passage]]:
        """The sentences the model reads: the most relevant ones by the extractive evidence
        score, within the token budget, shown in article order (so their position says
        nothing about their score, and a quotation stays after its attribution)."""
        seen: dict[tuple[str, int], tuple[SentenceRow, Passage]] = {}
        for row, passage in self._extractive.candidate_sentences(passages):
            seen.setdefault((row.document_id, row.index), (row, passage))
        ranked = sorted(seen.items(), key=lambda item: (-relevance.get(item[0], 0.0), item[0]))
        budget = self._settings.llm.context_tokens
        chosen: list[tuple[SentenceRow, Passage]] = []
        used = 0
        for _, (row, passage) in ranked[: self._settings.llm.reader_sentences]:
            cost = len(_encoding().encode(row.text)) + 4
            if chosen and used + cost > budget:
                break
            chosen.append((row, passage))
            used += cost
        order = {p.document.document_id: n for n, p in enumerate(passages)}
        chosen.sort(key=lambda item: (order[item[0].document_id], item[0].index))
        return chosen

    def listing(self, candidates: list[tuple[SentenceRow, Passage]]) -> str:
        """Numbered sentences under a line naming each article (title, source, date)."""
        lines: list[str] = []
        current = None
        for number, (row, passage) in enumerate(candidates, start=1):
            document = passage.document
            if document.document_id != current:
                current = document.document_id
                byline = ", ".join(p for p in (document.source, document.published_at) if p)
                lines.append(
                    render(
                        "passage",
                        title=document.title or document.document_id,
                        byline=f" ({byline})" if byline else "",
                    )
                )
            lines.append(f"[{number}] {row.text}")
        return "\n".join(lines)

    def messages(self, question: str, sentences: str) -> Messages:
        return [
            {"role": "system", "content": text("system")},
            {"role": "user", "content": render("answer", sentences=sentences, question=question)},
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
        if self._no_evidence(grounding):  # nothing worth reading: no LLM call
            return self._refusal(request, retrieval, started, None)
        candidates = self.candidates(retrieval.passages, grounding.relevance)
        question = retrieval.query.question if not request.history else retrieval.query.text
        try:
            raw = self._llm.chat_json(self.messages(question, self.listing(candidates)), SCHEMA)
        except LLMUnavailable as exc:
            return self._llm_failed(exc, grounding)
        reading = parse_reading(raw)
        if reading is None or not self._covers_question(question, reading, candidates):
            return self._refusal(request, retrieval, started, None)
        claims, passages = self._claims(reading, candidates)
        chosen = self._chosen(reading, candidates)
        kept, dropped = self._verify(claims, passages, chosen, grounding.relevance)
        return self._compose(request, retrieval, started, kept, dropped, grounding)

    def _chosen(
        self, reading: Reading, candidates: list[tuple[SentenceRow, Passage]]
    ) -> dict[str, list[SentenceRow]]:
        """The sentences the model said answer, by chunk: the first place to look for support."""
        chosen: dict[str, list[SentenceRow]] = {}
        for n in reading.sentences:
            if 1 <= n <= len(candidates):
                row, passage = candidates[n - 1]
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

    def _covers_question(
        self, question: str, reading: Reading, candidates: list[tuple[SentenceRow, Passage]]
    ) -> bool:
        """Every name and number the question asks about is in a retrieved passage of an article
        the answer rests on:
        "What did Angela Merkel say?" is not answered by an article that never names her, nor
        "revenue in 2021" by a report on 2023."""
        numbers = reading.sentences or [m for c in parse_claims(reading.answer) for m in c.markers]
        documents = {
            candidates[n - 1][1].document.document_id for n in numbers if 1 <= n <= len(candidates)
        } or {passage.document.document_id for _, passage in candidates}
        texts = [
            f"{p.document.title}\n{p.chunk.text}"
            for _, p in candidates
            if p.document.document_id in documents
        ]
        asked = question[:1].lower() + question[1:]  # "What", "Who": not names
        return bool(texts) and names_and_numbers_in(asked, *texts)

    def _claims(
        self, reading: Reading, candidates: list[tuple[SentenceRow, Passage]]
    ) -> tuple[list[Claim], list[Passage]]:
        """The answer's sentences with their markers turned from sentence numbers into numbers
        of the passages that hold those sentences (what the verifier checks against)."""
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
            markers = to_passages(claim.markers or reading.sentences)
            claims.append(Claim(claim.text, markers))
        return claims, passages

    def _no_evidence(self, grounding: Grounding) -> bool:
        best = max(grounding.relevance.values(), default=0.0)
        return best < self._settings.llm.evidence_floor

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
        """SSE events of the verified answer. The model's reply is structured (JSON), so the
        answer is verified whole and then sent as tokens; the UI shows "reading…" meanwhile."""
        yield from _replay(self.answer(request, retrieval, grounding))


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
    from newsrag.answering.events import token_pieces

    for piece in token_pieces(response.answer):
        yield "token", {"text": piece}
    for citation in response.citations:
        yield "citation", citation.model_dump()
    yield "done", response.model_dump()


SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "answerable": {"type": "boolean"},
        "sentences": {"type": "array", "items": {"type": "integer"}},
        "answer": {"type": "string"},
    },
    "required": ["answerable", "sentences", "answer"],
}


@dataclass(frozen=True, slots=True)
class Reading:
    """What the model read: the numbers of the sentences that answer, and its answer."""

    sentences: list[int]
    answer: str


def parse_reading(raw: str) -> Reading | None:
    """The model's reply as a :class:`Reading`; None when it says the sentences do not answer.

    The reply is the JSON of :data:`SCHEMA` (constrained by the server where it can); an
    endpoint without JSON mode may answer in prose with ``[n]`` markers or NOT_IN_DOCUMENTS.
    """
    if NOT_IN_DOCUMENTS in raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return Reading([], raw.strip()) if raw.strip() else None
    numbers = data.get("sentences")
    sentences = [n for n in numbers if type(n) is int] if isinstance(numbers, list) else []
    answer = data.get("answer")
    if data.get("answerable") is False or not sentences or not isinstance(answer, str):
        return None
    return Reading(sentences, answer.strip()) if answer.strip() else None
