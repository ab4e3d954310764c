from __future__ import annotations

from pathlib import Path

import pytest

from newsrag.errors import InvalidInput
from newsrag.ingest.formats.newsml import item_from_newsml, items_from_newsml

DATA = Path(__file__).parents[1] / "data" / "newsroom"


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def test_news_item_with_an_xhtml_body() -> None:
    item = item_from_newsml(read("newsitem.xml"))
    article = item.article
    assert not item.withdrawn and not item.correction
    assert article.document_id == "wire.example.com-20231002-harbour-fire"
    assert article.title == "Warehouse fire closes Inchmore harbour"
    # one paragraph per <p>; the link and the emphasis stay in their sentences
    assert article.text == (
        "Warehouse fire closes Inchmore harbour\n\n"
        "A fire at a fish warehouse closed Inchmore harbour on Monday, the port authority said."
        "\n\nFirefighters from three stations fought the blaze for six hours.\n\n"
        "No one was hurt, and the harbour is expected to reopen on Wednesday."
    )
    assert article.published_at == "2023-10-02T08:00:00+00:00"  # firstCreated
    meta = article.metadata
    assert meta["versioncreated"] == "2023-10-02T08:30:00+00:00"
    assert meta["author"] == "Marta Quinn"
    assert meta["located"] == "Inchmore"
    assert meta["subjects"] == "fire; disaster and accident"
    assert meta["genres"] == "Current"
    assert meta["language"] == "en"


def test_correction_and_cancellation_signals() -> None:
    corrected = item_from_newsml(read("newsitem-correction.xml"))
    assert corrected.correction and not corrected.withdrawn
    assert corrected.article.metadata["signal"] == "correction"
    assert "nine hours" in corrected.article.text
    canceled = item_from_newsml(read("newsitem-canceled.xml"))
    assert canceled.withdrawn
    assert canceled.article.document_id == "wire.example.com-20231002-harbour-fire"


def test_news_message_gives_every_item_and_plain_text_bodies_are_kept() -> None:
    items = items_from_newsml(read("newsmessage.xml"))
    assert [i.article.document_id for i in items] == [
        "wire.example.com-20231004-rail-strike",
        "wire.example.com-20231004-bus-fares",
    ]
    assert items[0].article.text == (
        "Rail strike called off\n\nRail unions called off Thursday's strike after a late offer."
        "\n\nServices will run as normal."
    )
    assert item_from_newsml(read("newsmessage.xml")) == items[0]


@pytest.mark.parametrize("name", ["billion-laughs.xml", "external-entity.xml"])
def test_entities_are_refused_before_anything_is_expanded(name: str) -> None:
    with pytest.raises(InvalidInput, match="entities or refers to external") as raised:
        item_from_newsml(read(name))
    assert raised.value.extra["field"] == "newsml"


@pytest.mark.parametrize(
    ("xml", "reason"),
    [
        ("<newsItem><unclosed></newsItem>", "malformed XML"),
        ("<feed xmlns='http://www.w3.org/2005/Atom'/>", "no NewsML-G2 newsItem"),
        ("<newsItem guid='urn:x:1'><contentSet/></newsItem>", "no body"),
        ("", "malformed XML"),
    ],
)
def test_bad_documents_get_a_reason(xml: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        item_from_newsml(xml)


def test_an_oversized_document_is_refused_before_it_is_parsed() -> None:
    from newsrag.ingest.formats.limits import MAX_SOURCE_CHARS

    huge = b"<newsItem>" + b" " * MAX_SOURCE_CHARS + b"</newsItem>"
    with pytest.raises(InvalidInput, match="over the limit"):
        item_from_newsml(huge)
