"""One consistent state of the corpus index: what a query reads, from start to end.

A snapshot is immutable. It is a tuple of segments (``newsrag.retrieval.segments``), a mask of
the rows still current in each, and the statistics of those rows: each term's document
frequency, each word's count, the number of rows and their total length, the span of dates.
The index replaces its snapshot by a single reference assignment; a query takes the reference
once and reads nothing else, so it never sees half of a write.

BM25 is computed per query from those statistics, with the same formula, parameters and
floating-point steps as ``bm25s`` (Lucene's variant, k1 = 1.5, b = 0.75, float32 scores summed
term by term), so the scores equal those of a ``bm25s`` index built from the same rows, however
the rows are split into segments. Dense scores are computed row by row (``einsum``): a row's
score does not depend on the segment it lies in either. (A vector as ingested and as the store
returns it later may differ in its last bits: Chroma can return it normalised again.)
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from newsrag.components.embeddings import Matrix
from newsrag.retrieval.filters import Filters
from newsrag.retrieval.segments import EMPTY, Segment, Vocabulary

K1 = 1.5
B = 0.75


@dataclass(frozen=True, slots=True, eq=False)
class IndexSnapshot:
    vocabulary: Vocabulary
    segments: tuple[Segment, ...]
    alive: tuple[np.ndarray, ...]  # per segment: which rows are current
    document_frequency: np.ndarray  # int64 per term id: current rows holding it
    word_counts: np.ndarray  # int64 per word id: current rows holding it
    long_terms: int  # how many of vocabulary.long_terms existed when this was made
    long_words: int
    long_terms_present: int  # of those, how many current rows hold (0: nothing to correct to)
    size: int  # current rows
    total_length: int  # their tokens
    span: tuple[dt.date, dt.date] | None
    dense_ready: bool  # every row's vector is here: dense search runs in process
    generation: str | None  # the store generation this reflects (None: unknown)
    sequence: int = 0  # increases with every snapshot of one index

    # ------------------------------------------------------------------ statistics

    def date_span(self) -> tuple[dt.date, dt.date] | None:
        """The earliest and newest publication dates among the chunks (None: nothing dated)."""
        return self.span

    def frequency(self, token: str) -> int:
        """How many current chunks hold ``token`` (a stem)."""
        term = self.vocabulary.term_ids.get(token)
        if term is None or term >= len(self.document_frequency) or token == EMPTY:
            return 0
        return int(self.document_frequency[term])

    def idf(self, token: str) -> float:
        frequency = self.frequency(token)
        return math.log(1.0 + (self.size - frequency + 0.5) / (frequency + 0.5))

    def word_count(self, word: str) -> int:
        found = self.vocabulary.word_ids.get(word)
        if found is None or found >= len(self.word_counts):
            return 0
        return int(self.word_counts[found])

    def rows_of(self, document_ids: Iterable[str]) -> int:
        """How many live rows these documents have."""
        wanted = set(document_ids)
        return sum(
            int(alive[segment.by_document[document_id]].sum())
            for segment, alive in zip(self.segments, self.alive, strict=True)
            for document_id in wanted
            if document_id in segment.by_document
        )

    def chunk_ids(self) -> set[str]:
        """Every current chunk id (for tests and checks, not for queries)."""
        found: set[str] = set()
        for segment, alive in zip(self.segments, self.alive, strict=True):
            found.update(segment.chunk_ids[alive].tolist())
        return found

    def correct_spelling(self, text: str) -> str:
        from newsrag.retrieval.spelling import correct_spelling

        return correct_spelling(self, text)

    # ------------------------------------------------------------------------ search

    def search(self, tokens: Sequence[str], n: int, filters: Filters) -> list[tuple[str, float]]:
        """BM25 over the current chunks, best first (ties by chunk id)."""
        if self.size == 0 or not tokens:
            return []
        terms = []
        for token in tokens:  # in order and repeated, as bm25s sums them
            term = self.vocabulary.term_ids.get(token, len(self.document_frequency))
            if term < len(self.document_frequency) and self.document_frequency[term] > 0:
                terms.append(term)
        if not terms:
            return []
        n_docs = self.size
        average = np.float64(self.total_length) / np.float64(n_docs)
        idf = {
            term: np.float32(_lucene_idf(int(self.document_frequency[term]), n_docs))
            for term in set(terms)
        }
        per_segment = []
        for segment in self.segments:
            scores = np.zeros(segment.size, dtype=np.float32)
            for term in terms:
                rows, tf = segment.postings(term)
                if rows.size:
                    lengths = segment.lengths[rows]
                    tfc = tf / (K1 * ((1 - B) + B * lengths / average) + tf)
                    scores[rows] += (idf[term] * tfc).astype(np.float32)
            per_segment.append(scores.astype(np.float64))
        return self._best(per_segment, [s > 0 for s in per_segment], n, filters)

    def dense_search(self, vector: Matrix, n: int, filters: Filters) -> list[tuple[str, float]]:
        """Exact cosine search over the chunk vectors held here (see ``dense_ready``)."""
        if not self.dense_ready or self.size == 0:
            return []
        norm = float(np.linalg.norm(vector)) or 1.0
        query = vector.astype(np.float32) / norm
        per_segment = []
        for segment in self.segments:
            if segment.vectors is None or segment.size == 0:
                per_segment.append(np.zeros(segment.size, dtype=np.float64))
            else:
                per_segment.append(np.einsum("ij,j->i", segment.vectors, query).astype(np.float64))
        return self._best(
            per_segment, [np.ones(len(s), dtype=bool) for s in per_segment], n, filters
        )

    def _best(
        self,
        scores: Sequence[np.ndarray],
        masks: Sequence[np.ndarray],
        n: int,
        filters: Filters,
    ) -> list[tuple[str, float]]:
        """The ``n`` best current rows that pass ``filters``, by score and then chunk id."""
        found_ids: list[np.ndarray] = []
        found_scores: list[np.ndarray] = []
        for segment, alive, score, mask in zip(
            self.segments, self.alive, scores, masks, strict=True
        ):
            mask = mask & alive
            if filters.document_ids:
                wanted = np.zeros(segment.size, dtype=bool)
                for document_id in filters.document_ids:
                    rows = segment.by_document.get(document_id)
                    if rows is not None:
                        wanted[rows] = True
                mask &= wanted
            if filters.after_ts is not None:
                mask &= segment.published >= filters.after_ts
            if filters.before_ts is not None:
                mask &= segment.published <= filters.before_ts
            rows = _top(score, np.flatnonzero(mask), n)
            found_ids.append(segment.chunk_ids[rows])
            found_scores.append(score[rows])
        if not found_ids:
            return []
        ids = np.concatenate(found_ids)
        values = np.concatenate(found_scores)
        best = _top(values, np.arange(len(values)), n)
        ranked = sorted(
            zip(values[best].tolist(), ids[best].tolist(), strict=True),
            key=lambda pair: (-pair[0], pair[1]),
        )
        return [(str(chunk_id), float(score)) for score, chunk_id in ranked[:n]]


def _top(scores: np.ndarray, candidates: np.ndarray, n: int) -> np.ndarray:
    """Those of ``candidates`` scoring at least the ``n``-th best score (ties all kept)."""
    if candidates.size <= n:
        return candidates
    values = scores[candidates]
    threshold = np.partition(values, values.size - n)[values.size - n]
    kept: np.ndarray = candidates[values >= threshold]
    return kept


def _lucene_idf(frequency: int, n_docs: int) -> float:
    return math.log(1 + (n_docs - frequency + 0.5) / (frequency + 0.5))


def empty_snapshot(vocabulary: Vocabulary | None = None) -> IndexSnapshot:
    """An index of nothing (over ``vocabulary``, or a new one)."""
    return IndexSnapshot(
        vocabulary=vocabulary or Vocabulary(),
        segments=(),
        alive=(),
        document_frequency=np.zeros(0, dtype=np.int64),
        word_counts=np.zeros(0, dtype=np.int64),
        long_terms=0,
        long_words=0,
        long_terms_present=0,
        size=0,
        total_length=0,
        span=None,
        dense_ready=False,
        generation=None,
    )


def date_span(
    segments: Sequence[Segment], alive: Sequence[np.ndarray]
) -> tuple[dt.date, dt.date] | None:
    """The earliest and newest date of the current rows (None: none is dated)."""
    lows, highs = [], []
    for segment, mask in zip(segments, alive, strict=True):
        dated = segment.published[mask]
        dated = dated[~np.isnan(dated)]
        if dated.size:
            lows.append(float(dated.min()))
            highs.append(float(dated.max()))
    if not lows:
        return None
    return (
        dt.datetime.fromtimestamp(min(lows), dt.UTC).date(),
        dt.datetime.fromtimestamp(max(highs), dt.UTC).date(),
    )
