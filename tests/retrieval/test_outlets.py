"""Outlets a question names, matched against the sources the store holds."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import pytest

from newsrag.components.store import change_log
from newsrag.components.store.changes import CommittedRows, StoreChange
from newsrag.models import StoredDocument
from newsrag.retrieval.outlets import OutletCatalogue, Outlets, aliases

SOURCES = {
    "The Verge": ["verge-1", "verge-2"],
    "TechCrunch": ["tc-1"],
    "Fortune": ["fortune-1"],
    "The Guardian": ["guardian-1"],
    "CBSSports.com": ["cbs-1"],
    "The Independent - Life and Style": ["indy-life"],
    "The Independent - Sports": ["indy-sport"],
    "Cnbc | World Business News Leader": ["cnbc-1"],
}
OUTLETS = Outlets(SOURCES)


def found(text: str) -> list[tuple[str, tuple[str, ...]]]:
    return [(m.phrase, m.sources) for m in OUTLETS.find(text)]


@pytest.mark.parametrize(
    ("question", "source"),
    [
        ("What did The Verge say about the strike?", "The Verge"),
        ("What did the Verge say about the strike?", "The Verge"),
        ("Did Verge cover the strike?", "The Verge"),
        ("Was the strike in THE VERGE?", "The Verge"),
        ("Did Tech Crunch report the layoffs?", "TechCrunch"),
        ("Did techcrunch report the layoffs?", "TechCrunch"),
        ("What did CBS Sports write about the trade?", "CBSSports.com"),
        ("What did CBSSports.com write about the trade?", "CBSSports.com"),
        ("What did CNBC say about the merger?", "Cnbc | World Business News Leader"),
        ("How did Fortune's reporter describe the deal?", "Fortune"),
    ],
)
def test_an_outlet_is_found_however_it_is_written(question: str, source: str) -> None:
    assert [sources for _, sources in found(question)] == [(source,)]


def test_mentions_are_exact_spans_with_their_article() -> None:
    text = "Did the Verge report it before Tech Crunch?"
    mentions = OUTLETS.find(text)
    assert [text[m.start : m.end] for m in mentions] == ["the Verge", "Tech Crunch"]
    assert [m.phrase for m in mentions] == ["the Verge", "Tech Crunch"]


def test_a_short_name_covers_every_edition_and_the_longest_name_wins() -> None:
    both = ("The Independent - Life and Style", "The Independent - Sports")
    assert found("What did The Independent say?") == [("The Independent", both)]
    assert found("What did The Independent - Sports say?") == [
        ("The Independent - Sports", ("The Independent - Sports",))
    ]


@pytest.mark.parametrize(
    "question",
    [
        "Is the club on the verge of collapse?",
        "Who paid a fortune for the painting?",
        "What did the legal guardian of the child say?",
        "Which independent review found the fault?",
    ],
)
def test_common_words_name_no_outlet_unless_capitalised(question: str) -> None:
    assert found(question) == []


def test_aliases_of_a_source() -> None:
    assert aliases("The Verge") == {"The Verge", "Verge"}
    assert aliases("CBSSports.com") == {"CBSSports.com", "CBSSports"}
    assert "The Independent" in aliases("The Independent - Sports")
    assert "Independent" in aliases("The Independent - Sports")


def test_documents_of_sources() -> None:
    assert OUTLETS.documents(["The Verge", "Fortune"]) == ("fortune-1", "verge-1", "verge-2")
    assert OUTLETS.documents(["Wired"]) == ()


class CountingStore:
    """The part of the store the catalogue reads, counting the reads."""

    def __init__(self, documents: Sequence[StoredDocument]) -> None:
        self.documents = list(documents)
        self.reads = 0
        self.fetched: list[list[str]] = []
        self.listener: Callable[[StoreChange], None] | None = None
        self.logged: list[tuple[float, str]] = []  # the change log: (when, document)

    def written_elsewhere(self, document: StoredDocument | None, document_id: str = "") -> None:
        """Another process's write (``document``) or delete (of ``document_id``): logged, and
        told to no listener."""
        if document is None:
            self.documents = [d for d in self.documents if d.document_id != document_id]
        else:
            document_id = document.document_id
            self.documents = [d for d in self.documents if d.document_id != document_id]
            self.documents.append(document)
        self.logged.append((time.time(), document_id))

    def changed_since(self, at: float) -> dict[str, set[str]]:
        return {d: {"w"} for when, d in self.logged if when >= at}

    def list_documents(self) -> list[StoredDocument]:
        self.reads += 1
        return self.documents

    def get_documents(self, document_ids: Sequence[str]) -> dict[str, StoredDocument]:
        self.fetched.append(list(document_ids))
        return {d.document_id: d for d in self.documents if d.document_id in document_ids}

    def subscribe(self, listener: Callable[[StoreChange], None]) -> None:
        self.listener = listener


def record(document_id: str, source: str | None) -> StoredDocument:
    return StoredDocument(
        document_id=document_id, title="", text_hash="", chunks=1, ingested_at="", source=source
    )


def test_the_catalogue_reads_every_source_once_then_what_the_change_log_names() -> None:
    store = CountingStore([record("a", "The Verge"), record("b", None)])
    catalogue = OutletCatalogue(store)  # type: ignore[arg-type]
    assert catalogue.outlets("g1").sources == ("The Verge",)
    assert catalogue.outlets("g1").documents(["The Verge"]) == ("a",)
    assert store.reads == 1
    store.written_elsewhere(record("c", "Wired"))
    assert catalogue.outlets("g1").sources == ("The Verge",)  # same generation: cached
    assert catalogue.outlets("g2").sources == ("The Verge", "Wired")
    store.written_elsewhere(None, "a")
    assert catalogue.outlets("g3").sources == ("Wired",)
    assert (store.reads, store.fetched) == (1, [["c"], ["a", "c"]])


def test_a_catalogue_that_looked_longer_ago_than_the_log_keeps_reads_every_source() -> None:
    store = CountingStore([record("a", "The Verge")])
    catalogue = OutletCatalogue(store)  # type: ignore[arg-type]
    long_ago = time.time() - change_log.RETENTION_S
    catalogue.seed({d.document_id: d for d in store.documents}, "g1", long_ago)
    store.written_elsewhere(record("c", "Wired"))
    assert catalogue.outlets("g2").sources == ("The Verge", "Wired")
    assert (store.reads, store.fetched) == (1, [])


def test_the_catalogue_follows_this_process_writes_by_reading_only_their_records() -> None:
    store = CountingStore([record("a", "The Verge"), record("b", "Wired")])
    catalogue = OutletCatalogue(store)  # type: ignore[arg-type]
    assert catalogue.outlets("g1").sources == ("The Verge", "Wired")
    assert store.listener is not None
    store.documents = [record("a", "The Verge"), record("c", "Reuters")]
    store.listener(
        StoreChange(
            committed=(CommittedRows("c", "w1", ()),),
            deleted=("b",),
            generation_before="g1",
            generation="g2",
        )
    )
    assert catalogue.outlets("g2").sources == ("Reuters", "The Verge")
    assert (store.reads, store.fetched) == (1, [["b", "c"]])
    # a question that read the generation before that write is answered from the newer state
    assert catalogue.outlets("g1").sources == ("Reuters", "The Verge")
    assert catalogue.outlets("g2").sources == ("Reuters", "The Verge")
    assert (store.reads, store.fetched) == (1, [["b", "c"]])
    # a change not in step with what the catalogue read (another process wrote in between)
    store.written_elsewhere(record("d", "Wired"))
    store.listener(StoreChange(deleted=("a",), generation_before="g7", generation="g8"))
    store.documents = [d for d in store.documents if d.document_id != "a"]
    assert catalogue.outlets("g8").sources == ("Reuters", "Wired")
    assert (store.reads, store.fetched[-1]) == (1, ["a", "d"])  # what the log names, alone


def test_records_read_by_the_corpus_index_seed_the_catalogue() -> None:
    store = CountingStore([record("a", "The Verge"), record("b", "Wired")])
    catalogue = OutletCatalogue(store)  # type: ignore[arg-type]
    catalogue.seed({d.document_id: d for d in store.documents}, "g1", time.time())
    assert catalogue.outlets("g1").sources == ("The Verge", "Wired")
    assert (store.reads, store.fetched) == (0, [])
    # a write of this process the seed may have missed is still read, alone
    assert store.listener is not None
    store.documents.append(record("c", "Reuters"))
    store.listener(
        StoreChange(
            committed=(CommittedRows("c", "w1", ()),), generation_before="g1", generation="g2"
        )
    )
    catalogue.seed(
        {d.document_id: d for d in store.documents[:2]}, "g1", time.time()
    )  # read before it
    assert catalogue.outlets("g2").sources == ("Reuters", "The Verge", "Wired")
    assert (store.reads, store.fetched) == (0, [["c"]])


def test_a_seed_older_than_what_the_catalogue_read_is_ignored() -> None:
    store = CountingStore([record("a", "The Verge")])
    catalogue = OutletCatalogue(store)  # type: ignore[arg-type]
    before = {d.document_id: d for d in store.documents}
    catalogue.seed(before, "g1", time.time())
    assert store.listener is not None
    store.documents.append(record("c", "Reuters"))  # written after the index read the records
    store.listener(
        StoreChange(
            committed=(CommittedRows("c", "w1", ()),), generation_before="g1", generation="g2"
        )
    )
    assert catalogue.outlets("g2").sources == ("Reuters", "The Verge")
    catalogue.seed(before, "g1", time.time())  # that read's records, delivered late
    assert catalogue.outlets("g2").sources == ("Reuters", "The Verge")
    assert catalogue.outlets("g1").sources == ("Reuters", "The Verge")
    assert (store.reads, store.fetched) == (0, [["c"]])
