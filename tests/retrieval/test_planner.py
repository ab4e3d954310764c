"""The planner: named outlets and dates become filters, each facet is retrieved on its own and
the candidates are pooled (real embedded Chroma, hashing embedder)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from newsrag.components.embeddings import Matrix
from newsrag.components.embeddings.hashing import HashingEmbedder
from newsrag.components.store.chroma import ChromaStore
from newsrag.config import ChromaSettings, ChunkSettings, RetrievalSettings
from newsrag.ingest.pipeline import Ingestor
from newsrag.models import Article
from newsrag.retrieval.filters import Filters
from newsrag.retrieval.hybrid import HybridRetriever, Passage
from newsrag.retrieval.pool import interleaved, retrieve_plan
from newsrag.retrieval.query import QueryPlanner
from newsrag.retrieval.snapshot import IndexSnapshot
from newsrag.text.dates import to_timestamp

ARTICLES = [
    ("verge-cuts", "The Verge", "2023-10-02", "Acme Robotics cut 200 jobs in its drone unit."),
    ("verge-phone", "The Verge", "2023-10-09", "A new phone from Bramble sold out in a day."),
    ("tc-suit", "TechCrunch", "2023-10-05", "A supplier sued Acme Robotics over unpaid invoices."),
    ("tc-round", "TechCrunch", "2023-11-20", "Acme Robotics raised 50 million from Northwind."),
    ("fortune-drones", "Fortune", "2023-10-06", "Acme Robotics and other drone makers cut jobs."),
]


class SpyRetriever(HybridRetriever):
    """Records the filters of every retrieval."""

    calls: list[Filters]

    def retrieve(
        self,
        query: str,
        vector: Matrix,
        top_k: int,
        filters: Filters,
        index: IndexSnapshot | None = None,
        generation: str | None = None,
    ) -> list[Passage]:
        self.calls.append(filters)
        return super().retrieve(query, vector, top_k, filters, index, generation)


@pytest.fixture
def retriever(tmp_path: Path) -> SpyRetriever:
    embedder = HashingEmbedder()
    store = ChromaStore.connect(ChromaSettings(), tmp_path, embedder.name, embedder.dimension)
    ingestor = Ingestor(store, embedder, ChunkSettings(size=64, overlap=8), 10_000)
    for document_id, source, published, text in ARTICLES:
        ingestor.ingest(Article(text, document_id, document_id, None, source, published))
    spy = SpyRetriever(store, RetrievalSettings())
    spy.calls = []
    return spy


def planner(retriever: HybridRetriever) -> QueryPlanner:
    return QueryPlanner(retriever.index, HashingEmbedder(), retriever.outlets)


def documents(passages: list[Passage]) -> set[str]:
    return {p.document.document_id for p in passages}


def test_each_outlet_named_is_a_facet_filtered_to_its_documents(retriever: SpyRetriever) -> None:
    plan = planner(retriever).plan(
        "Did the Verge report that Acme Robotics cut jobs before Tech Crunch reported that a "
        "supplier sued Acme Robotics?"
    )
    assert plan.question is not None and plan.question.shape == "temporal-order"
    assert [f.facet.sources for f in plan.facets] == [("The Verge",), ("TechCrunch",)]
    assert [f.filters.document_ids for f in plan.facets] == [
        ("verge-cuts", "verge-phone"),
        ("tc-round", "tc-suit"),
    ]
    assert "cut jobs" in plan.facets[0].query.text
    assert "sued" in plan.facets[1].query.text
    assert plan.filters.document_ids is None  # the whole question is not narrowed to them


def test_each_facet_is_retrieved_on_its_own_and_pooled(retriever: SpyRetriever) -> None:
    plan = planner(retriever).plan(
        "Did the Verge report that Acme Robotics cut jobs, while TechCrunch reported that a "
        "supplier sued Acme Robotics?"
    )
    pool = retrieve_plan(retriever, plan, 5)
    # one retrieval for the whole question, then one per facet with that facet's filters
    assert retriever.calls == [plan.filters, *(f.filters for f in plan.facets)]
    verge, techcrunch = pool.facets
    assert documents(verge.passages) <= {"verge-cuts", "verge-phone"}
    assert documents(techcrunch.passages) <= {"tc-suit", "tc-round"}
    assert verge.passages[0].document.document_id == "verge-cuts"
    assert techcrunch.passages[0].document.document_id == "tc-suit"
    # the pool keeps the whole question's passages first, then each facet's new ones
    assert pool.passages[: len(pool.main)] == list(pool.main)
    assert {"verge-cuts", "tc-suit"} <= documents(pool.passages)
    # a search shows each facet's best first
    assert documents(interleaved(pool, 2)) == {"verge-cuts", "tc-suit"}


def test_dates_of_facets_filter_each_facet_and_span_the_whole(retriever: SpyRetriever) -> None:
    plan = planner(retriever).plan(
        "Between the TechCrunch report published on October 5, 2023 and the TechCrunch report "
        "published on November 20, 2023, did the outlook for Acme Robotics change?"
    )
    windows = [(f.filters.after_ts, f.filters.before_ts) for f in plan.facets]
    assert windows == [
        (to_timestamp("2023-10-05"), to_timestamp("2023-10-05", end_of_day=True)),
        (to_timestamp("2023-11-20"), to_timestamp("2023-11-20", end_of_day=True)),
    ]
    # not only the first date: the whole question spans both
    assert (plan.filters.after_ts, plan.filters.before_ts) == (windows[0][0], windows[1][1])
    assert plan.frame.after == dt.date(2023, 10, 5) and plan.frame.before == dt.date(2023, 11, 20)
    pool = retrieve_plan(retriever, plan, 5)
    assert [documents(f.passages) for f in pool.facets] == [{"tc-suit"}, {"tc-round"}]


def test_relative_time_words_still_narrow_a_question_naming_outlets(
    retriever: SpyRetriever,
) -> None:
    plan = planner(retriever).plan(
        "What did The Verge and TechCrunch report about Acme Robotics in the past week?",
        as_of=dt.date(2023, 10, 8),
    )
    week = (to_timestamp("2023-10-02"), to_timestamp("2023-10-08", end_of_day=True))
    assert len(plan.facets) == 2
    assert [(f.filters.after_ts, f.filters.before_ts) for f in plan.facets] == [week, week]
    assert (plan.filters.after_ts, plan.filters.before_ts) == week
    pool = retrieve_plan(retriever, plan, 5)
    assert "tc-round" not in documents(pool.passages)  # published after the week


def test_requested_documents_narrow_the_facets(retriever: SpyRetriever) -> None:
    plan = planner(retriever).plan(
        "Did the Verge report the job cuts before TechCrunch reported the lawsuit?",
        document_ids=["verge-cuts", "fortune-drones"],
    )
    # TechCrunch holds none of the documents asked for: nothing can answer that facet, and it
    # stays in the plan so that the answer says so
    assert [(f.facet.sources, f.filters.document_ids, f.searchable) for f in plan.facets] == [
        (("The Verge",), ("verge-cuts",), True),
        (("TechCrunch",), (), False),
    ]


def test_a_question_naming_no_outlet_is_planned_as_before(retriever: SpyRetriever) -> None:
    plan = planner(retriever).plan("Which company cut 200 jobs?")
    assert plan.facets == ()
    pool = retrieve_plan(retriever, plan, 5)
    assert retriever.calls == [Filters()] and pool.passages == list(pool.main)


def test_a_facet_whose_outlet_holds_none_of_the_documents_asked_stays_unsupported(
    retriever: SpyRetriever,
) -> None:
    plan = planner(retriever).plan(
        "Did the Verge report that Acme Robotics cut jobs, while TechCrunch reported that a "
        "supplier sued Acme Robotics?",
        document_ids=["verge-cuts", "fortune-drones"],
    )
    assert [(f.facet.sources, f.searchable) for f in plan.facets] == [
        (("The Verge",), True),
        (("TechCrunch",), False),
    ]
    pool = retrieve_plan(retriever, plan, 5)
    # nothing is retrieved for TechCrunch: it is not asked about, and no filter is dropped
    assert retriever.calls == [plan.filters, plan.facets[0].filters]
    verge, techcrunch = pool.facets
    assert documents(verge.passages) == {"verge-cuts"}
    assert techcrunch.passages == []


def test_outlets_follow_this_process_writes_without_rereading_the_archive(
    retriever: SpyRetriever, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = retriever._store
    catalogue = retriever.outlets
    retriever.index.refresh()
    assert "Reuters" not in catalogue.outlets().sources
    ingestor = Ingestor(store, HashingEmbedder(), ChunkSettings(size=64, overlap=8), 10_000)
    ingestor.ingest(Article("Acme Robotics hired a new chief.", "r1", "r1", None, "Reuters"))

    def full_scan() -> list[object]:
        raise AssertionError("the whole archive was read again after this process's write")

    monkeypatch.setattr(store, "list_documents", full_scan)
    retriever.index.refresh()
    outlets = catalogue.outlets()
    assert "Reuters" in outlets.sources
    assert outlets.documents(["Reuters"]) == {"r1"}
    store.delete_document("verge-phone")
    retriever.index.refresh()
    assert catalogue.outlets().documents(["The Verge"]) == {"verge-cuts"}
