"""Hybrid retrieval: dense search (in process or Chroma's) fused with BM25 by reciprocal rank
fusion.

The corpus index (``newsrag.retrieval.index``) is a per-process cache of every chunk's tokens
and, for archives up to a configured size, vectors; it follows this process's writes at once and
other processes' by catching up. Every hit, dense or lexical, is checked against the document
records of the store's current generation, so a deleted or replaced version is never served,
even while the index has not caught up with another replica's write yet.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from newsrag.components.embeddings import Matrix
from newsrag.components.store.chroma import ChromaStore, ChunkHit, where_for
from newsrag.config import NewsroomSettings, RetrievalSettings
from newsrag.models import StoredDocument
from newsrag.retrieval.filters import Filters
from newsrag.retrieval.index import CorpusIndex
from newsrag.retrieval.outlets import OutletCatalogue
from newsrag.retrieval.snapshot import IndexSnapshot
from newsrag.text.sentences import (
    lexical_tokens,
)

V = TypeVar("V")


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

    The query planner refreshes ``index`` once per request before the question is corrected and
    weighed, and passes on the snapshot it got and the store generation it read, so retrieval
    reads neither again.
    """

    def __init__(
        self,
        store: ChromaStore,
        settings: RetrievalSettings,
        newsroom: NewsroomSettings | None = None,
        index_path: Path | None = None,
    ) -> None:
        """``index_path``: where the corpus index is kept between runs (None: not kept)."""
        self._store = store
        self._settings = settings
        self._newsroom = newsroom or NewsroomSettings()
        self.index = CorpusIndex(
            store,
            settings.dense_in_process_max_chunks,
            catch_up_wait_s=settings.index_catch_up_wait_s,
            saved_path=index_path,
        )
        self.outlets = OutletCatalogue(self.index)  # the sources questions may name
        # document records as of the store generation the request read first; any write
        # anywhere changes the generation, so a deleted or replaced document is never served
        # from here
        self._records: dict[str, StoredDocument] = {}
        self._groups: dict[str, list[StoredDocument]] = {}  # wire group -> its members
        self._records_generation: str | None = None
        self._records_lock = threading.Lock()

    def _current(self, generation: str | None) -> str | None:
        """The generation the caches hold; emptied first when the store moved on."""
        if generation != self._records_generation or generation is None:
            self._records.clear()
            self._groups.clear()
            self._records_generation = generation
        return generation

    def documents(
        self, document_ids: Sequence[str], generation: str | None = None
    ) -> dict[str, StoredDocument]:
        return self._read_through(
            self._records, document_ids, self._store.get_documents, generation
        )

    def wire_groups(
        self, groups: Sequence[str], generation: str | None = None
    ) -> dict[str, list[StoredDocument]]:
        """The members of each wire group, cached per generation like the records."""
        return self._read_through(self._groups, groups, self._store.wire_groups, generation)

    def _read_through(
        self,
        cache: dict[str, V],
        keys: Sequence[str],
        fetch: Callable[[list[str]], dict[str, V]],
        generation: str | None,
    ) -> dict[str, V]:
        """``keys`` from ``cache`` (one of this generation's caches), the rest fetched and kept
        unless the generation moved on meanwhile. ``generation``: the store's, as the request
        read it (default: as the index's last refresh read it)."""
        with self._records_lock:
            generation = self._current(generation or self.index.observed_generation)
            found = {key: cache[key] for key in keys if key in cache}
        missing = [key for key in dict.fromkeys(keys) if key not in found]
        if missing:
            fetched = fetch(missing)
            with self._records_lock:
                if self._records_generation == generation:
                    cache.update(fetched)
            found.update(fetched)
        return found

    def retrieve(
        self,
        query: str,
        vector: Matrix,
        top_k: int,
        filters: Filters,
        index: IndexSnapshot | None = None,
        generation: str | None = None,
    ) -> list[Passage]:
        """The ``top_k`` best passages, read from ``index`` (default: the current snapshot) and
        checked against the records of ``generation`` (see ``_read_through``)."""
        snapshot = index or self.index.snapshot()
        pool = max(self._settings.candidates, top_k)
        if snapshot.dense_ready:
            nearest = snapshot.dense_search(vector, pool, filters)
            rows = self._store.get_chunks([chunk_id for chunk_id, _ in nearest])
            dense = [
                replace(rows[chunk_id], similarity=similarity)
                for chunk_id, similarity in nearest
                if chunk_id in rows
            ]
        else:
            where = where_for(filters.document_ids, filters.after_ts, filters.before_ts)
            dense = self._store.query_chunks(vector, pool, where)
        lexical = snapshot.search(lexical_tokens(query), pool, filters)

        hits: dict[str, ChunkHit] = {hit.chunk_id: hit for hit in dense}
        missing = [chunk_id for chunk_id, _ in lexical if chunk_id not in hits]
        hits.update(self._store.get_chunks(missing))
        documents = self.documents(sorted({hit.document_id for hit in hits.values()}), generation)

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
        cited, groups = self._wire_copies(present, generation)
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
        self, present: dict[str, StoredDocument], generation: str | None
    ) -> tuple[set[str], dict[str, tuple[StoredDocument, ...]]]:
        """Which of the retrieved documents to cite (one per wire group, see
        ``_citation_order``), and every member of each cited one's group in that order."""
        grouped = [d.group for d in present.values() if d.group != d.document_id or d.has_copies]
        if not grouped:
            return set(present), {}
        members = self.wire_groups(grouped, generation)
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
