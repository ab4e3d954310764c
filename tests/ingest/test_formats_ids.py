from __future__ import annotations

import pytest

from newsrag.ingest.formats.ids import id_from_uri
from newsrag.text.ids import MAX_DOCUMENT_ID_CHARS, is_valid_document_id


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("urn:newsml:example.com:20231001:abc123", "example.com-20231001-abc123"),
        ("https://news.example.com/2023/10/story-slug", "news.example.com-2023-10-story-slug"),
        ("http://www.Example.com/News/Story?id=42#top", "example.com-news-story-id-42-top"),
        ("tag:example.com,2023:story/7", "example.com-2023-story-7"),
        ("https://example.com/a/versions/2", "example.com-a-versions-2"),
    ],
)
def test_readable_ids(uri: str, expected: str) -> None:
    assert id_from_uri(uri) == expected
    assert is_valid_document_id(expected)


def test_ids_are_stable_and_long_uris_are_clipped_apart() -> None:
    first = "https://example.com/" + "long-slug-" * 40 + "one"
    second = "https://example.com/" + "long-slug-" * 40 + "two"
    assert id_from_uri(first) == id_from_uri(first)
    assert len(id_from_uri(first)) == MAX_DOCUMENT_ID_CHARS
    assert id_from_uri(first) != id_from_uri(second)
    assert is_valid_document_id(id_from_uri(first))


def test_a_uri_of_nothing_readable_still_has_an_id() -> None:
    assert id_from_uri("urn:///").startswith("item-")
    assert id_from_uri("urn:///") != id_from_uri("urn:?")
