"""Outlets a question names, matched against the sources the store holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsrag.models import Article
from newsrag.retrieval.outlets import OutletCatalogue, Outlets, aliases
from tests.helpers import built, open_store, recording_record_reads

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
OUTLETS = Outlets.of(SOURCES)


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
    assert OUTLETS.documents(["The Verge", "Fortune"]) == {"fortune-1", "verge-1", "verge-2"}
    assert OUTLETS.documents(["Wired"]) == set()


def test_the_outlets_follow_this_process_writes_and_deletes_reading_no_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, ingestor = open_store(tmp_path)
    ingestor.ingest(Article("The bridge opened.", "Bridge", "verge-1", source="The Verge"))
    index = built(store)
    catalogue = OutletCatalogue(index)
    assert catalogue.outlets().documents(["The Verge"]) == {"verge-1"}
    records = recording_record_reads(monkeypatch)
    ingestor.ingest(Article("A court ruled.", "Court", "wired-1", source="Wired"))
    ingestor.ingest(Article("An unsigned story.", "Unsigned", "anonymous"))
    outlets = catalogue.outlets()
    assert outlets.sources == ("The Verge", "Wired")
    ingestor.ingest(Article("A court ruled again.", "Court", "wired-1", source="Wired"))
    ingestor.ingest(Article("A jury sat.", "Jury", "wired-2", source="Wired"))
    assert catalogue.outlets() is outlets  # regrouped only when a source appears or goes
    assert outlets.documents(["Wired"]) == {"wired-1", "wired-2"}  # looked up when asked
    store.delete_document("verge-1")
    assert catalogue.outlets().sources == ("Wired",)
    index.refresh()
    assert catalogue.outlets().sources == ("Wired",)
    assert not [
        read for read in records if set(read) - {"verge-1", "wired-1", "wired-2", "anonymous"}
    ]


def test_the_outlets_follow_another_process_writes_once_the_index_caught_up(
    tmp_path: Path,
) -> None:
    ours, our_ingestor = open_store(tmp_path)
    _, their_ingestor = open_store(tmp_path)  # a replica: its writes are not told to us
    our_ingestor.ingest(Article("The bridge opened.", "Bridge", "verge-1", source="The Verge"))
    index = built(ours)
    catalogue = OutletCatalogue(index)
    assert catalogue.outlets().sources == ("The Verge",)
    their_ingestor.ingest(Article("A court ruled.", "Court", "wired-1", source="Wired"))
    their_ingestor.ingest(Article("The bridge closed.", "Bridge", "verge-1", source="Reuters"))
    index.refresh()
    outlets = catalogue.outlets()
    assert outlets.sources == ("Reuters", "Wired")
    assert outlets.documents(["Reuters"]) == {"verge-1"}
    their_ingestor.ingest(Article("A court ruled again.", "Court", "wired-1"))  # no source now
    index.refresh()
    assert catalogue.outlets().sources == ("Reuters",)
    assert OutletCatalogue(built(ours)).outlets().sources == ("Reuters",)  # as the store says
