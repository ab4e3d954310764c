"""The per-process index of the corpus: BM25 over every chunk, the vocabulary for spelling
correction, the span of publication dates and, for archives up to a configured size, the chunk
vectors for exact dense search. It is rebuilt whenever the store's generation token changes (any
process's ingest or delete); the query planner refreshes it once per request.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from newsrag.components.embeddings import Matrix
from newsrag.components.store.chroma import ChromaStore
from newsrag.retrieval.filters import Filters
from newsrag.text.sentences import (
    is_english_word,
    lexical_tokens,
    normalize_for_match,
    surface_words,
)
from newsrag.text.words import LETTERS

V = TypeVar("V")


def _cased(correction: str, asked: str) -> str:
    """``correction`` (lower case, as the index keeps words) in the casing pattern of the word
    asked: ``PESKOF`` → ``PESKOV``, ``Peskof`` → ``Peskov``, ``peskof`` → ``peskov``."""
    if len(asked) > 1 and asked.isupper():
        return correction.upper()
    if asked[:1].isupper():
        return correction[:1].upper() + correction[1:]
    return correction


class CorpusIndex:
    """The per-process index of all chunks, rebuilt when the store's generation changes: BM25,
    the vocabulary for spelling correction and, while the archive has at most
    ``dense_max_chunks`` chunks, their vectors for exact dense search without a store round trip
    (larger archives are searched by Chroma's HNSW index)."""

    def __init__(self, store: ChromaStore, dense_max_chunks: int = 0) -> None:
        self._store = store
        self._dense_max_chunks = dense_max_chunks
        self._vectors: Matrix | None = None
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._chunk_ids: list[str] = []
        self._document_ids: np.ndarray = np.array([], dtype=object)
        self._published: np.ndarray = np.array([], dtype=np.float64)
        self._date_span: tuple[dt.date, dt.date] | None = None
        self._bm25: object | None = None
        self._document_frequency: Counter[str] = Counter()
        self._vocabulary: list[str] = []  # stems, commonest first
        self._words: list[str] = []  # lower-cased words as written, commonest first
        self._word_set: frozenset[str] = frozenset()
        self._spelling: dict[str, str] = {}  # stem -> its commonest word as written
        self.size = 0

    @property
    def generation(self) -> str | None:
        """The store generation the index was last refreshed at."""
        return self._generation

    def refresh(self) -> None:
        generation = self._store.generation()
        if generation == self._generation:
            return
        with self._lock:
            if generation == self._generation:
                return
            self._rebuild(generation)

    def _rebuild(self, generation: str) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every build at DEBUG
        chunk_ids: list[str] = []
        document_ids: list[str] = []
        published: list[float] = []
        corpus: list[list[str]] = []
        vectors: list[Matrix] = []
        frequency: Counter[str] = Counter()
        words: Counter[str] = Counter()
        with_vectors = 0 < self._store.counts()[1] <= self._dense_max_chunks
        rows = self._store.iter_chunk_rows(with_vectors=with_vectors)
        # sorted by id, so that the index does not depend on the order the store returns rows in
        for row in sorted(rows, key=lambda row: row.chunk_id):
            if row.vector is not None:
                vectors.append(row.vector)
            tokens = lexical_tokens(row.text)
            chunk_ids.append(row.chunk_id)
            document_ids.append(row.document_id)
            published.append(math.nan if row.published_ts is None else float(row.published_ts))
            corpus.append(tokens or ["<empty>"])
            frequency.update(set(tokens))
            words.update(set(surface_words(row.text)))
        bm25 = None
        if corpus:
            bm25 = bm25s.BM25()
            bm25.index(corpus, show_progress=False)
        self._chunk_ids = chunk_ids
        self._document_ids = np.array(document_ids, dtype=object)
        self._published = np.array(published, dtype=np.float64)
        self._date_span = self._span_of(self._published)
        self._bm25 = bm25
        self._vectors = None
        if with_vectors and len(vectors) == len(chunk_ids):
            matrix = np.vstack(vectors).astype(np.float32)
            norms = np.linalg.norm(matrix, axis=1, keepdims=True)
            self._vectors = (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32)
        self._document_frequency = frequency
        # most frequent first: of equally close corrections, the commoner word wins, whatever the
        # order the chunks were indexed in
        self._vocabulary = sorted(
            (token for token in frequency if len(token) >= 3),
            key=lambda token: (-frequency[token], token),
        )
        self._words = sorted(
            (word for word in words if len(word) >= 3), key=lambda word: (-words[word], word)
        )
        self._word_set = frozenset(words)
        spelling: dict[str, str] = {}
        for word in self._words:
            for token in lexical_tokens(word)[:1]:
                spelling.setdefault(token, word)
        self._spelling = spelling
        self.size = len(chunk_ids)
        self._generation = generation

    def date_span(self) -> tuple[dt.date, dt.date] | None:
        """The earliest and newest publication dates among the chunks (None: nothing dated)."""
        return self._date_span

    def _span_of(self, published: np.ndarray) -> tuple[dt.date, dt.date] | None:
        dated = published[~np.isnan(published)] if published.size else published
        if dated.size == 0:
            return None
        first, last = (
            dt.datetime.fromtimestamp(float(v), dt.UTC).date() for v in (dated.min(), dated.max())
        )
        return first, last

    def correct_spelling(self, text: str) -> str:
        """Replace words that are neither in the index nor English by the closest word the index
        has, in the casing the word was asked in (``Peskof`` → ``Peskov``, ``PESKOF`` →
        ``PESKOV``, ``criticise`` → ``criticised``), so that misspelt names still match and the
        names-and-numbers gate still sees a name. English words stay as asked: "roughly" is not a
        misspelling of "thoroughly", and a capitalised word the dictionary knows is someone
        ("Jonson") is not turned into someone else ("Johnson"). A capitalised word whose stem the
        index holds is only ever written as that stem's word. Unknown words with no close match
        stay too."""
        from rapidfuzz import fuzz, process

        vocabulary = self._vocabulary
        if not vocabulary:
            return text

        def replace(match: re.Match[str]) -> str:
            word = match.group()
            tokens = lexical_tokens(word)
            if len(tokens) != 1 or len(tokens[0]) < 4 or tokens[0].isdigit():
                return word
            if normalize_for_match(word) in self._word_set or is_english_word(word):
                return word
            if word[0].isupper() and tokens[0] in self._spelling:  # a name the index holds
                return _cased(self._spelling[tokens[0]], word)
            # closest word as written ("resolushun" → "resolution"), else closest stem
            # ("tweeet" → "tweet", written "tweeted")
            found = process.extractOne(
                normalize_for_match(word),
                self._words,
                scorer=fuzz.ratio,
                score_cutoff=80,
                processor=None,
            )
            if found:
                return _cased(str(found[0]), word)
            found = process.extractOne(
                tokens[0], vocabulary, scorer=fuzz.ratio, score_cutoff=80, processor=None
            )
            if not found:
                return word
            return _cased(self._spelling.get(str(found[0]), str(found[0])), word)

        return LETTERS.sub(replace, text)

    def idf(self, token: str) -> float:
        frequency = self._document_frequency.get(token, 0)
        return math.log(1.0 + (self.size - frequency + 0.5) / (frequency + 0.5))

    @property
    def dense_ready(self) -> bool:
        return self._vectors is not None

    def dense_search(self, vector: Matrix, n: int, filters: Filters) -> list[tuple[str, float]]:
        """Exact cosine search over the cached chunk vectors (see ``dense_ready``)."""
        vectors = self._vectors
        if vectors is None or not len(vectors):
            return []
        norm = float(np.linalg.norm(vector)) or 1.0
        scores = (vectors @ (vector.astype(np.float32) / norm)).astype(np.float64)
        return self._best(scores, np.ones(len(scores), dtype=bool), n, filters)

    def search(self, tokens: Sequence[str], n: int, filters: Filters) -> list[tuple[str, float]]:
        bm25 = self._bm25
        if bm25 is None or not tokens:
            return []
        scores = np.asarray(bm25.get_scores(list(tokens)), dtype=np.float64)  # type: ignore[attr-defined]
        return self._best(scores, scores > 0, n, filters)

    def _best(
        self, scores: np.ndarray, mask: np.ndarray, n: int, filters: Filters
    ) -> list[tuple[str, float]]:
        if filters.document_ids:
            mask &= np.isin(self._document_ids, list(filters.document_ids))
        if filters.after_ts is not None:
            mask &= self._published >= filters.after_ts
        if filters.before_ts is not None:
            mask &= self._published <= filters.before_ts
        candidates = np.flatnonzero(mask)
        if candidates.size == 0:
            return []
        best = candidates[np.argsort(-scores[candidates], kind="stable")[:n]]
        return [(self._chunk_ids[i], float(scores[i])) for i in best]
