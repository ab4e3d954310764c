"""Extractive answers: verbatim sentences of the retrieved passages, each with its exact span."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from newsrag.answering.answer_types import expectation, is_fragment
from newsrag.answering.copy_agreement import CopyAgreement
from newsrag.components.store.chroma import ChromaStore, SentenceRow
from newsrag.config import RetrievalSettings
from newsrag.retrieval.facets import Facet
from newsrag.retrieval.hybrid import Passage
from newsrag.retrieval.index import CorpusIndex
from newsrag.retrieval.pool import FacetPassages
from newsrag.retrieval.query import Query
from newsrag.schemas import Citation, CopyRef, CorrectionNote
from newsrag.text.dates import to_timestamp
from newsrag.text.sentences import lexical_tokens, looks_like_instruction

HISTORY_TERM_WEIGHT = 0.3
NOTE_WORDS = 16  # of a facet's words, in the note that says nothing supports it
FACET_SENTENCES = 2  # of a facet's articles, cited at most
_OPENING_QUOTE = re.compile(r"\s*[“\"]")
_ANY_QUOTE = re.compile(r"[“”\"]")


@dataclass(frozen=True, slots=True)
class ScoredSentence:
    row: SentenceRow
    passage: Passage
    dense: float
    lexical: float
    score: float


@dataclass(frozen=True, slots=True)
class FacetCitations:
    """One facet of the question and the ids of the citations that are its evidence (none:
    nothing retrieved supports it)."""

    facet: Facet
    citations: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ExtractiveAnswer:
    answer: str
    citations: list[Citation]
    refused: bool
    best_score: float
    # evidence score of every candidate sentence, by (document_id, sentence index): generative
    # mode keeps only claims resting on a sentence relevant to the question
    relevance: dict[tuple[str, int], float]
    note: str | None = None  # set when copies of a cited story print a cited sentence otherwise
    facets: tuple[FacetCitations, ...] = ()  # each facet's evidence among the citations


def refusal_text(question: str) -> str:
    return (
        "The documents do not say. None of the ingested articles contains an answer to: "
        f"“{question.strip()}”"
    )


def copy_refs(passage: Passage) -> list[CopyRef]:
    return [
        CopyRef(
            document_id=copy.document_id,
            title=copy.title,
            source=copy.source,
            published_at=copy.published_at,
            url=copy.url,
        )
        for copy in passage.also_in
    ]


def citation_for(number: int, row: SentenceRow, passage: Passage, score: float) -> Citation:
    document = passage.document
    return Citation(
        id=number,
        document_id=document.document_id,
        title=document.title,
        url=document.url,
        source=document.source,
        published_at=document.published_at,
        chunk_id=passage.chunk.chunk_id,
        quote=row.text,
        start=row.start,
        end=row.end,
        score=round(float(score), 4),
        also_in=copy_refs(passage),
        correction=(
            CorrectionNote(
                version=row.correction.version,
                corrected_at=row.correction.corrected_at,
                previous=row.correction.previous,
            )
            if row.correction
            else None
        ),
    )


class ExtractiveAnswerer:
    """Scores the sentences of the passages against the question and cites the best ones."""

    def __init__(
        self,
        store: ChromaStore,
        lexical: CorpusIndex,
        settings: RetrievalSettings,
        latest_margin: float,
    ) -> None:
        self._store = store
        self._lexical = lexical
        self._settings = settings
        self._latest_margin = latest_margin
        self._copies = CopyAgreement(store)

    def candidate_sentences(
        self, passages: Sequence[Passage], *, keep_shared: bool = False
    ) -> list[tuple[SentenceRow, Passage]]:
        """The sentences of the passages, each attributed to the best-ranked passage holding it
        (or, with ``keep_shared``, once per passage holding it). A sentence cut by a chunk
        boundary is still cited whole: its span is exact either way. Sentences addressed to the
        assistant (planted instructions) are no evidence and are left out, for both modes."""
        wanted: dict[tuple[str, str], dict[int, list[Passage]]] = {}
        for passage in passages:
            key = (passage.document.document_id, passage.document.text_hash)
            indices = wanted.setdefault(key, {})
            for index in range(passage.chunk.first_sentence, passage.chunk.last_sentence + 1):
                holders = indices.setdefault(index, [])
                if keep_shared or not holders:
                    holders.append(passage)
        out: list[tuple[SentenceRow, Passage]] = []
        for (document_id, text_hash), indices in wanted.items():
            for row in self._store.get_sentences(document_id, text_hash, sorted(indices)):
                if not looks_like_instruction(row.text):
                    out.extend((row, passage) for passage in indices[row.index])
        return out

    def score(
        self, query: Query, candidates: Sequence[tuple[SentenceRow, Passage]]
    ) -> list[ScoredSentence]:
        """Evidence score of each sentence; words of the question itself outweigh words that a
        follow-up borrowed from earlier turns, so "Which Republicans…?" finds the Republicans."""
        if not candidates:
            return []
        settings = self._settings
        expected = expectation(query.question)
        own = set(lexical_tokens(query.question))
        weights = {
            token: self._lexical.idf(token) * (1.0 if token in own else HISTORY_TERM_WEIGHT)
            for token in sorted(own | set(lexical_tokens(query.text)))
        }
        total = sum(weights.values()) or 1.0
        matrix = np.stack([row.vector for row, _ in candidates])
        dense = matrix @ query.vector
        if query.question_vector is not query.vector:
            dense = (dense + matrix @ query.question_vector) / 2
        dense_weight = settings.dense_weight
        scored = []
        for (row, passage), similarity in zip(candidates, dense, strict=True):
            overlap = weights.keys() & set(lexical_tokens(row.text))
            lexical = sum(weights[token] for token in sorted(overlap)) / total
            score = dense_weight * float(similarity) + (1 - dense_weight) * lexical
            if not expected.holds(row.text):
                score -= settings.type_weight
            if is_fragment(row.text):
                score -= settings.fragment_weight
            if not expected.polarity_matches(row.text):
                score -= settings.negation_weight
            scored.append(ScoredSentence(row, passage, float(similarity), lexical, score))
        scored.sort(key=lambda s: (-s.score, s.row.document_id, s.row.index))
        return scored

    def _newest_first(self, scored: list[ScoredSentence], best: float) -> list[ScoredSentence]:
        """Recency as a tie-breaker: of the articles whose best sentence is within the margin of
        the best overall, the newest one answers."""
        floor = max(self._settings.refusal_threshold, best - self._latest_margin)
        close = [s for s in scored if s.score >= floor]
        newest = max(close, key=lambda s: (_published(s.passage), s.score))
        chosen = newest.row.document_id
        return [s for s in scored if s.row.document_id == chosen]

    def answer(
        self,
        question: str,
        query: Query,
        passages: Sequence[Passage],
        facets: Sequence[FacetPassages] = (),
    ) -> ExtractiveAnswer:
        """The best sentences for the whole question and, when it has facets, each facet's
        evidence besides. A question with facets is answered when the whole question or one of
        its parts reaches the refusal threshold (a long compound question scores low against
        any one sentence, its parts do not); a facet without evidence is named in the note."""
        threshold = self._settings.refusal_threshold
        scored = self.score(query, self.candidate_sentences(passages))
        relevance = {(s.row.document_id, s.row.index): s.score for s in scored}
        best = scored[0].score if scored else 0.0
        evidence = [self.facet_evidence(found) for found in facets]
        for sentence in (s for sentences in evidence for s in sentences):
            key = (sentence.row.document_id, sentence.row.index)
            relevance[key] = max(relevance.get(key, sentence.score), sentence.score)
        facet_best = max((sentences[0].score for sentences in evidence if sentences), default=best)
        chosen = self._chosen(query, scored) if scored and best >= threshold else []
        chosen = with_facets(chosen, [s for sentences in evidence for s in sentences])
        if not chosen or (best < threshold and facet_best < threshold):
            return ExtractiveAnswer(refusal_text(question), [], True, best, relevance)
        answer, citations, note = self.cite(chosen)
        missing = [
            found.facet.facet for found, kept in zip(facets, evidence, strict=True) if not kept
        ]
        note = " ".join(part for part in (note, unsupported_note(missing)) if part) or None
        numbers = citation_numbers(chosen)
        groups = tuple(
            FacetCitations(found.facet.facet, tuple(numbers[_key(s)] for s in kept))
            for found, kept in zip(facets, evidence, strict=True)
        )
        return ExtractiveAnswer(
            answer, citations, False, max(best, facet_best), relevance, note, groups
        )

    def _chosen(self, query: Query, scored: list[ScoredSentence]) -> list[ScoredSentence]:
        """The best sentence and up to two more within the answer margin of it (the newest
        article's when the question asks for the latest), with the quotation an attribution
        announces."""
        settings = self._settings
        best = scored[0].score
        if query.latest:
            scored = self._newest_first(scored, best)
            best = scored[0].score
        chosen = [scored[0]]
        floor = max(settings.refusal_threshold, best - settings.answer_margin)
        for candidate in scored[1:]:
            if len(chosen) >= settings.max_answer_sentences:
                break
            if candidate.score >= floor and candidate.row.text not in {c.row.text for c in chosen}:
                chosen.append(candidate)
        room = settings.max_answer_sentences - 1  # the attribution itself stays
        quoted = quotation_after(chosen[0], scored, settings.refusal_threshold)
        if room and quoted is not None and quoted.row.text not in {c.row.text for c in chosen}:
            # the quotation says what the attribution only announces; it outranks a third sentence
            chosen = [*chosen[:room], quoted]
        return chosen

    def facet_evidence(self, found: FacetPassages) -> list[ScoredSentence]:
        """A facet's evidence among its own passages, read with its own words: the best
        sentence of each of its articles, best first, that scores within the answer margin of
        the facet's best and of the refusal threshold (a facet may rest on several articles of
        one outlet, "both Reuters articles"); up to :data:`FACET_SENTENCES`. Empty: the facet
        has no support."""
        settings = self._settings
        scored = self.score(found.facet.query, self.candidate_sentences(found.passages))
        if not scored:
            return []
        floor = max(settings.refusal_threshold, scored[0].score) - settings.answer_margin
        kept: list[ScoredSentence] = []
        for sentence in scored:
            if sentence.score < floor or len(kept) >= FACET_SENTENCES:
                break
            if all(k.row.document_id != sentence.row.document_id for k in kept):
                kept.append(sentence)
        return kept

    def cite(self, chosen: Sequence[ScoredSentence]) -> tuple[str, list[Citation], str | None]:
        """The chosen sentences as the answer, verbatim, each with its numbered citation: the
        first sentence's article first, each article's sentences in their order. Where copies
        of a wire story print a sentence otherwise, the wording most copies print is cited."""
        ordered = _cited_order(chosen)
        parts: list[str] = []
        citations: list[Citation] = []
        notes: list[str] = []
        for number, sentence in enumerate(ordered, start=1):
            row, passage = sentence.row, sentence.passage
            settled = self._copies.settle(number, row, passage)
            if settled is not None:
                row, passage = settled.row, settled.passage
                notes.append(settled.note)
            parts.append(f"{row.text} [{number}]")
            citations.append(citation_for(number, row, passage, sentence.score))
        return " ".join(parts), citations, " ".join(notes) or None


def _key(sentence: ScoredSentence) -> tuple[str, int]:
    return (sentence.row.document_id, sentence.row.index)


def _cited_order(chosen: Sequence[ScoredSentence]) -> list[ScoredSentence]:
    """The order :meth:`ExtractiveAnswerer.cite` numbers sentences in: the first sentence's
    article first, each article's sentences in their order."""
    lead = chosen[0].row.document_id
    return sorted(chosen, key=lambda s: (s.row.document_id != lead, s.row.document_id, s.row.index))


def citation_numbers(chosen: Sequence[ScoredSentence]) -> dict[tuple[str, int], int]:
    """The citation number :meth:`ExtractiveAnswerer.cite` gives each chosen sentence."""
    return {_key(s): n for n, s in enumerate(_cited_order(chosen), start=1)}


def with_facets(
    chosen: Sequence[ScoredSentence], supports: Sequence[ScoredSentence]
) -> list[ScoredSentence]:
    """The chosen sentences, then each facet's best that is not among them already."""
    out = list(chosen)
    cited = {(s.row.document_id, s.row.index) for s in out}
    for support in supports:
        key = (support.row.document_id, support.row.index)
        if key not in cited:
            cited.add(key)
            out.append(support)
    return out


def unsupported_note(facets: Sequence[Facet]) -> str | None:
    """Names each facet no retrieved sentence supports: "No article from The Verge supports
    “…”."""
    notes = []
    for facet in dict.fromkeys(facets):
        where = f"from {facet.outlet}" if facet.outlet else "in the archive"
        if facet.date:
            where += f" published {facet.date}"
        words = facet.text.split()
        said = " ".join(words[:NOTE_WORDS]) + (" …" if len(words) > NOTE_WORDS else "")
        notes.append(f"No article {where} supports “{said.rstrip('?.')}”.")
    return " ".join(notes) or None


def quotation_after(
    lead: ScoredSentence, scored: Sequence[ScoredSentence], threshold: float
) -> ScoredSentence | None:
    """The quotation that follows the best sentence when that sentence only reports speech.

    "UN experts called for action against the purge." is followed by "“We urge the authorities
    to …”": the question "What did they urge?" is answered by the quotation, which scores lower
    because the attribution carries the names. The next sentence joins the answer when it opens
    a quotation, the best sentence holds none itself, and it is evidence on its own (at least the
    refusal threshold)."""
    if _ANY_QUOTE.search(lead.row.text):
        return None
    for candidate in scored:
        row = candidate.row
        if (
            row.document_id == lead.row.document_id
            and row.index == lead.row.index + 1
            and _OPENING_QUOTE.match(row.text)
        ):
            return candidate if candidate.score >= threshold else None
    return None


def _published(passage: Passage) -> float:
    published = passage.document.published_at
    return float(to_timestamp(published)) if published else float("-inf")
