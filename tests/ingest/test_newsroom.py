"""Newsroom items into the archive: corrections flag their sentences, withdrawals and restores."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsrag.components.embeddings.hashing import HashingEmbedder
from newsrag.components.store.chroma import ChromaStore
from newsrag.config import ChromaSettings, ChunkSettings
from newsrag.errors import InvalidInput
from newsrag.ingest.formats.item import ParsedItem
from newsrag.ingest.formats.newsml import item_from_newsml
from newsrag.ingest.newsroom import ingest_item, ingest_items
from newsrag.ingest.pipeline import Ingestor
from newsrag.models import Article
from newsrag.text.chunking import sentences_of

DATA = Path(__file__).parents[1] / "data" / "newsroom"
STORY = "wire.example.com-20231002-harbour-fire"


@pytest.fixture
def ingestor(tmp_path: Path) -> Ingestor:
    embedder = HashingEmbedder()
    store = ChromaStore.connect(ChromaSettings(), tmp_path, embedder.name, embedder.dimension)
    return Ingestor(store, embedder, ChunkSettings(size=64, overlap=8), 10_000)


def item(name: str) -> ParsedItem:
    return item_from_newsml((DATA / name).read_bytes())


def test_a_correction_is_a_new_version_whose_changed_sentence_is_flagged(
    ingestor: Ingestor,
) -> None:
    assert ingest_item(ingestor, item("newsitem.xml")).status == "created"

    result = ingest_item(ingestor, item("newsitem-correction.xml"))

    assert result.status == "updated"
    store = ingestor.store
    document = store.get_document(STORY)
    assert document.version == 2
    assert document.metadata["signal"] == "correction"
    text = document.text or ""
    rows = store.record_sentences(document, [s.index for s in sentences_of(text)])
    flagged = {row.text: row.correction for row in rows if row.correction}
    assert list(flagged) == ["Firefighters from three stations fought the blaze for nine hours."]
    [correction] = flagged.values()
    assert correction.version == 2
    assert correction.previous == "Firefighters from three stations fought the blaze for six hours."


def test_the_signal_is_kept_for_any_source_that_flags_a_correction(ingestor: Ingestor) -> None:
    article = Article("The fire was out by noon.", "Fire", "fire")
    ingest_item(ingestor, ParsedItem(article, correction=True))
    assert ingestor.store.get_document("fire").metadata == {"signal": "correction"}


def test_canceled_then_restored(ingestor: Ingestor) -> None:
    ingest_item(ingestor, item("newsitem.xml"))
    withdrawn = ingest_item(ingestor, item("newsitem-canceled.xml"))
    assert (withdrawn.status, withdrawn.chunks) == ("withdrawn", 0)
    assert ingestor.store.get_document(STORY).withdrawn_at is not None
    restored = ingest_item(ingestor, item("newsitem-correction.xml"))
    assert restored.status == "updated" and restored.chunks >= 1
    document = ingestor.store.get_document(STORY)
    assert document.withdrawn_at is None and document.version == 2


def test_a_withdrawal_must_name_its_story(ingestor: Ingestor) -> None:
    with pytest.raises(InvalidInput, match="document_id"):
        ingest_item(ingestor, ParsedItem(Article("", "Killed"), withdrawn=True))
    with pytest.raises(InvalidInput, match="document_id"):
        ingest_item(ingestor, ParsedItem(Article("", "Killed", "../bad id"), withdrawn=True))


def test_ingest_items_applies_kills_after_the_stories_and_goes_on_after_bad_ones(
    ingestor: Ingestor,
) -> None:
    done: list[int] = []
    items: list[tuple[str, ParsedItem | Exception]] = [
        ("kill", item("newsitem-canceled.xml")),
        ("story", item("newsitem.xml")),
        ("bad", InvalidInput("bomb.xml: newsml: refused")),
        ("fire", ParsedItem(Article("The fire was out by noon.", "Fire", "fire"), correction=True)),
        ("unnamed kill", ParsedItem(Article("", "Killed"), withdrawn=True)),
    ]

    report = ingest_items(ingestor, items, on_progress=done.append, batch_size=2)

    assert [r.status for r in report.results] == ["created", "created", "withdrawn"]
    assert [label for label, _ in report.failures] == ["bad", "unnamed kill"]
    assert sum(done) == len(items)
    assert ingestor.store.get_document(STORY).withdrawn_at is not None
    assert ingestor.store.get_document("fire").metadata["signal"] == "correction"
