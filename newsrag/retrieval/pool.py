"""A plan retrieved: the whole question's passages and each facet's, pooled.

Each facet is retrieved with its own words and filters (its outlet, its date), so an article that
answers one part of the question is found even when the whole question's words favour other
articles. The pool keeps the whole question's passages first, then each facet's that are not
already there; every facet keeps its own list, so the reader can find its best sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from newsrag.retrieval.hybrid import HybridRetriever, Passage
from newsrag.retrieval.query import FacetQuery, Plan

# passages retrieved per facet: its best article, and a second chance
FACET_TOP_K = 3


@dataclass(frozen=True, slots=True)
class FacetPassages:
    """What one facet retrieved."""

    facet: FacetQuery
    passages: list[Passage]


@dataclass(frozen=True, slots=True)
class Pool:
    passages: list[Passage]  # the whole question's, then each facet's not already there
    facets: tuple[FacetPassages, ...] = ()
    main: tuple[Passage, ...] = ()  # the whole question's alone


def retrieve_plan(retriever: HybridRetriever, plan: Plan, top_k: int) -> Pool:
    """The whole question's ``top_k`` passages and each facet's :data:`FACET_TOP_K`."""
    query = plan.query
    main = retriever.retrieve(
        query.text, query.vector, top_k, plan.filters, plan.index, plan.generation
    )
    facets = tuple(
        FacetPassages(
            facet,
            retriever.retrieve(
                facet.query.text,
                facet.query.vector,
                min(FACET_TOP_K, top_k),
                facet.filters,
                plan.index,
                plan.generation,
            )
            if facet.searchable
            else [],
        )
        for facet in plan.facets
    )
    pooled = list(main)
    seen = {p.chunk.chunk_id for p in main}
    for found in facets:
        for passage in found.passages:
            if passage.chunk.chunk_id not in seen:
                seen.add(passage.chunk.chunk_id)
                pooled.append(passage)
    return Pool(pooled, facets, tuple(main))


def interleaved(pool: Pool, top_k: int) -> list[Passage]:
    """``top_k`` passages for a search: each facet's best in turn, then the whole question's
    next, round after round, so that every part of the question is in the first results."""
    rounds: list[Sequence[Passage]] = [*(f.passages for f in pool.facets), pool.main]
    out: list[Passage] = []
    seen: set[str] = set()
    for depth in range(max((len(r) for r in rounds), default=0)):
        for passages in rounds:
            if depth < len(passages) and passages[depth].chunk.chunk_id not in seen:
                seen.add(passages[depth].chunk.chunk_id)
                out.append(passages[depth])
    return out[:top_k]
