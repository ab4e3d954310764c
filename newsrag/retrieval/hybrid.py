"""Hybrid retrieval: dense search in Chroma fused with BM25 by reciprocal rank fusion.

The BM25 index is a per-process cache of every chunk's tokens. It is rebuilt whenever the store's
generation token changes (any process's ingest or delete), and every hit, dense or lexical, is
checked against the current document records, so a deleted or replaced version is never served
even in the instant between another replica's write and this process's refresh.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np

from newsrag.components.embeddings import Matrix
from newsrag.components.store.chroma import ChromaStore, ChunkHit, where_for
from newsrag.config import NewsroomSettings, RetrievalSettings
from newsrag.models import StoredDocument
from newsrag.text.sentences import (
    is_english_word,
    lexical_tokens,
    normalize_for_match,
    surface_words,
)

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Filters:
    document_ids: tuple[str, ...] | None = None
    after_ts: int | None = None
    before_ts: int | None = None


@dataclass(frozen=True, slots=True)
class Passage:
    chunk: ChunkHit
    document: StoredDocument
    score: float  # fused score, 1.0 = ranked first by both retrievers
    dense_rank: int | None
    lexical_rank: int | None
    # every copy of the wire story, this one included, in citation order (empty: no copies)
    group: tuple[StoredDocument, ...] = ()

    @property
    def also_in(self) -> tuple[StoredDocument, ...]:
        """The other copies of the same wire story."""
        return tuple(m for m in self.group if m.document_id != self.document.document_id)


class LexicalIndex:
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
        has, as written there (``Peskof`` → ``peskov``, ``criticise`` → ``criticised``), so that
        misspelt names still match. English words stay as asked: "roughly" is not a misspelling
        of "thoroughly". Unknown words with no close match stay too."""
        from rapidfuzz import fuzz, process

        vocabulary = self._vocabulary
        if not vocabulary:
            return text

        def replace(match: re.Match[str]) -> str:
            word = match.group()
            tokens = lexical_tokens(word)
            if len(tokens) != 1 or len(tokens[0]) < 4 or tokens[0].isdigit():
                return word
            if normalize_for_match(word) in self._word_set:
                return word
            # A capitalised word inside the question is a name ("Jonson"): only the index knows
            # it. Other English words stay as asked: "Roughly" is no misspelling of "thoroughly".
            looks_like_name = word[0].isupper() and match.start() > 0
            if not looks_like_name and is_english_word(word):
                return word
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
                return str(found[0])
            found = process.extractOne(
                tokens[0], vocabulary, scorer=fuzz.ratio, score_cutoff=80, processor=None
            )
            return self._spelling.get(str(found[0]), str(found[0])) if found else word

        return _WORD.sub(replace, text)

    def knows(self, token: str) -> bool:
        return token in self._document_frequency

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


def _ranks(scored: list[tuple[str, float]]) -> dict[str, int]:
    """Competition ranks of a best-first list: equal scores share a rank, so the fusion does not
    depend on how the store or the index happened to order ties."""
    ranks: dict[str, int] = {}
    previous: float | None = None
    rank = 0
    for position, (chunk_id, score) in enumerate(scored):
        if previous is None or score != previous:
            rank, previous = position, score
        ranks[chunk_id] = rank
    return ranks


class HybridRetriever:
    """Dense + lexical candidates, fused with RRF, filtered to current document versions.

    Callers refresh ``lexical`` once per request before using it (the question's spelling
    correction and IDF weights need it too), so retrieval does not read the generation again.
    """

    def __init__(
        self,
        store: ChromaStore,
        settings: RetrievalSettings,
        newsroom: NewsroomSettings | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._newsroom = newsroom or NewsroomSettings()
        self.lexical = LexicalIndex(store, settings.dense_in_process_max_chunks)
        # document records as of the lexical index's generation; any write anywhere changes the
        # generation, which every request reads first, so a deleted or replaced document is
        # never served from here
        self._records: dict[str, StoredDocument] = {}
        self._groups: dict[str, list[StoredDocument]] = {}  # wire group -> its members
        self._records_generation: str | None = None
        self._records_lock = threading.Lock()

    def _current(self) -> str | None:
        """The generation the caches hold; emptied first when the store moved on."""
        generation = self.lexical.generation
        if generation != self._records_generation or generation is None:
            self._records.clear()
            self._groups.clear()
            self._records_generation = generation
        return generation

    def documents(self, document_ids: Sequence[str]) -> dict[str, StoredDocument]:
        return self._read_through(self._records, document_ids, self._store.get_documents)

    def wire_groups(self, groups: Sequence[str]) -> dict[str, list[StoredDocument]]:
        """The members of each wire group, cached per generation like the records."""
        return self._read_through(self._groups, groups, self._store.wire_groups)

    def _read_through(
        self,
        cache: dict[str, V],
        keys: Sequence[str],
        fetch: Callable[[list[str]], dict[str, V]],
    ) -> dict[str, V]:
        """``keys`` from ``cache`` (one of this generation's caches), the rest fetched and kept
        unless the generation moved on meanwhile."""
        with self._records_lock:
            generation = self._current()
            found = {key: cache[key] for key in keys if key in cache}
        missing = [key for key in dict.fromkeys(keys) if key not in found]
        if missing:
            fetched = fetch(missing)
            with self._records_lock:
                if self._records_generation == generation:
                    cache.update(fetched)
            found.update(fetched)
        return found

    def retrieve(self, query: str, vector: Matrix, top_k: int, filters: Filters) -> list[Passage]:
        pool = max(self._settings.candidates, top_k)
        if self.lexical.dense_ready:
            nearest = self.lexical.dense_search(vector, pool, filters)
            rows = self._store.get_chunks([chunk_id for chunk_id, _ in nearest])
            dense = [
                replace(rows[chunk_id], similarity=similarity)
                for chunk_id, similarity in nearest
                if chunk_id in rows
            ]
        else:
            where = where_for(filters.document_ids, filters.after_ts, filters.before_ts)
            dense = self._store.query_chunks(vector, pool, where)
        lexical = self.lexical.search(lexical_tokens(query), pool, filters)

        hits: dict[str, ChunkHit] = {hit.chunk_id: hit for hit in dense}
        missing = [chunk_id for chunk_id, _ in lexical if chunk_id not in hits]
        hits.update(self._store.get_chunks(missing))
        documents = self.documents(sorted({hit.document_id for hit in hits.values()}))

        def current(chunk_id: str) -> bool:
            hit = hits.get(chunk_id)
            document = documents.get(hit.document_id) if hit else None
            # only rows of the write the record commits (see newsrag.components.store.commit)
            return hit is not None and document is not None and document.write == hit.write

        dense_rank = _ranks(
            [(hit.chunk_id, hit.similarity) for hit in dense if current(hit.chunk_id)]
        )
        lexical_rank = _ranks(
            [(chunk_id, score) for chunk_id, score in lexical if current(chunk_id)]
        )
        k = self._settings.rrf_k
        fused: dict[str, float] = {}
        for ranks in (dense_rank, lexical_rank):
            for chunk_id, rank in ranks.items():
                fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (k + rank + 1)
        ranked = sorted(fused, key=lambda chunk_id: (-fused[chunk_id], chunk_id))
        present = {
            hits[chunk_id].document_id: documents[hits[chunk_id].document_id] for chunk_id in ranked
        }
        cited, groups = self._wire_copies(present)
        best = [chunk_id for chunk_id in ranked if hits[chunk_id].document_id in cited][:top_k]
        top_possible = 2.0 / (k + 1)
        return [
            Passage(
                chunk=hits[chunk_id],
                document=documents[hits[chunk_id].document_id],
                score=round(fused[chunk_id] / top_possible, 4),
                dense_rank=dense_rank.get(chunk_id),
                lexical_rank=lexical_rank.get(chunk_id),
                group=groups.get(hits[chunk_id].document_id, ()),
            )
            for chunk_id in best
        ]

    def _wire_copies(
        self, present: dict[str, StoredDocument]
    ) -> tuple[set[str], dict[str, tuple[StoredDocument, ...]]]:
        """Which of the retrieved documents to cite (one per wire group, see
        ``_citation_order``), and every member of each cited one's group in that order."""
        grouped = [d.group for d in present.values() if d.group != d.document_id or d.has_copies]
        if not grouped:
            return set(present), {}
        members = self.wire_groups(grouped)
        cited: set[str] = set()
        groups: dict[str, tuple[StoredDocument, ...]] = {}
        by_group: dict[str, list[StoredDocument]] = {}
        for document in present.values():
            by_group.setdefault(document.group, []).append(document)
        for group, retrieved in by_group.items():
            chosen = min(retrieved, key=self._citation_order)
            cited.add(chosen.document_id)
            others = [m for m in members.get(group, []) if m.document_id != chosen.document_id]
            everyone = [chosen, *others] if others else []
            groups[chosen.document_id] = tuple(sorted(everyone, key=self._citation_order))
        return cited, groups

    def _citation_order(self, document: StoredDocument) -> tuple[int, bool, str, str]:
        """Preferred sources first, then the copy that founded the group, then the earliest
        ingested. Not the publication date: a client sets it, and a copy sent later with an
        earlier date must not take the place of the story already cited."""
        preferred = self._newsroom.preferred_sources
        source = (document.source or "").casefold()
        rank = preferred.index(source) if source in preferred else len(preferred)
        founder = document.group == document.document_id
        return (rank, not founder, document.ingested_at, document.document_id)
